//! A blocking Ethereum JSON-RPC client: the dozen standard methods the anchor needs, over HTTP.
//!
//! Every call has a timeout, and every failure says whether the node could not be reached
//! ([`RpcError::Unreachable`]: retry later) or answered with an error ([`RpcError::Node`]: the
//! node's code, message and revert data, if any).

use alloy_primitives::{Address, Bytes, B256};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why a JSON-RPC call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// No answer: connection refused, timed out, or an HTTP error status. The text names the
    /// kind of failure, never the URL: RPC URLs often carry an API key, and this text reaches
    /// the unauthenticated `/healthz`.
    #[error("chain RPC unreachable: {reason}")]
    Unreachable {
        /// The kind of transport failure, or the HTTP status.
        reason: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("chain RPC error {code} from {method}: {message}")]
    Node {
        /// The method called.
        method: &'static str,
        /// The JSON-RPC error code.
        code: i64,
        /// The node's message.
        message: String,
        /// Revert data of a failed call or gas estimate, if the node gave it.
        data: Option<Bytes>,
    },
    /// The answer was not what the method returns.
    #[error("chain RPC answer to {method} not understood: {detail}")]
    BadAnswer {
        /// The method called.
        method: &'static str,
        /// What was wrong.
        detail: String,
    },
}

impl RpcError {
    /// The revert data carried by a node error, if any.
    pub fn revert_data(&self) -> Option<&Bytes> {
        match self {
            RpcError::Node { data, .. } => data.as_ref(),
            _ => None,
        }
    }
}

/// A block tag or number, as JSON-RPC takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockId {
    /// The latest block.
    Latest,
    /// The latest finalized block.
    Finalized,
    /// The pending state (for nonces: counts transactions in the pool).
    Pending,
    /// A block number.
    Number(u64),
}

impl BlockId {
    fn to_json(self) -> Value {
        match self {
            BlockId::Latest => json!("latest"),
            BlockId::Finalized => json!("finalized"),
            BlockId::Pending => json!("pending"),
            BlockId::Number(number) => json!(format!("{number:#x}")),
        }
    }
}

/// What the anchor reads of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: B256,
    /// Its timestamp, seconds since the Unix epoch.
    pub timestamp: u64,
    /// Its base fee; `None` on a chain without EIP-1559.
    pub base_fee: Option<u128>,
}

/// What the anchor reads of a transaction receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The transaction.
    pub transaction_hash: B256,
    /// The block it is in.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: B256,
    /// Whether it succeeded (false: it reverted).
    pub success: bool,
    /// Gas it used.
    pub gas_used: u64,
    /// The address of a contract it created.
    pub contract_address: Option<Address>,
    /// Its logs.
    pub logs: Vec<Log>,
}

/// An event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// The contract that emitted it.
    pub address: Address,
    /// Its topics.
    pub topics: Vec<B256>,
    /// Its data.
    pub data: Bytes,
    /// The block it is in.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: B256,
    /// The transaction that emitted it.
    pub transaction_hash: B256,
}

/// A JSON-RPC endpoint.
pub struct RpcClient {
    url: String,
    agent: ureq::Agent,
    next_id: AtomicU64,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "RpcClient({})", redacted(&self.url))
    }
}

/// An RPC URL fit for logs: its scheme, host and port only (user info, path and query, where
/// providers put API keys, are left out).
pub fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if scheme.is_empty() {
        host.to_owned()
    } else {
        format!("{scheme}://{host}")
    }
}

impl RpcClient {
    /// A client of `url` whose calls give up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> RpcClient {
        let agent = ureq::AgentBuilder::new().timeout(timeout).build();
        RpcClient { url: url.to_string(), agent, next_id: AtomicU64::new(1) }
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` and returns its `result` (which may be `null`).
    pub fn call(&self, method: &'static str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = match self.agent.post(&self.url).send_json(request) {
            Ok(response) => response,
            Err(ureq::Error::Status(status, response)) => {
                // Some nodes answer JSON-RPC errors with an HTTP error status: keep their body.
                match response.into_json::<Value>() {
                    Ok(body) if body.get("error").is_some() => return node_error(method, &body["error"]),
                    _ => return Err(RpcError::Unreachable { reason: format!("HTTP status {status}") }),
                }
            }
            // ureq's own text quotes the URL: keep only the kind of failure.
            Err(ureq::Error::Transport(transport)) => {
                return Err(RpcError::Unreachable { reason: transport.kind().to_string() })
            }
        };
        let body: Value = response
            .into_json()
            .map_err(|error| RpcError::BadAnswer { method, detail: format!("not JSON: {error}") })?;
        if let Some(error) = body.get("error") {
            return node_error(method, error);
        }
        body.get("result").cloned().ok_or(RpcError::BadAnswer { method, detail: "no result".into() })
    }

    /// `eth_chainId`.
    pub fn chain_id(&self) -> Result<u64, RpcError> {
        quantity_u64("eth_chainId", &self.call("eth_chainId", json!([]))?)
    }

    /// `eth_blockNumber`.
    pub fn block_number(&self) -> Result<u64, RpcError> {
        quantity_u64("eth_blockNumber", &self.call("eth_blockNumber", json!([]))?)
    }

    /// `eth_getBlockByNumber` without transactions; `None` when there is no such block (or the
    /// node has no finalized block yet).
    pub fn block(&self, block: BlockId) -> Result<Option<BlockInfo>, RpcError> {
        const METHOD: &str = "eth_getBlockByNumber";
        let value = self.call(METHOD, json!([block.to_json(), false]))?;
        if value.is_null() {
            return Ok(None);
        }
        Ok(Some(BlockInfo {
            number: quantity_u64(METHOD, &value["number"])?,
            hash: hash(METHOD, &value["hash"])?,
            timestamp: quantity_u64(METHOD, &value["timestamp"])?,
            base_fee: match value.get("baseFeePerGas") {
                None | Some(Value::Null) => None,
                Some(fee) => Some(quantity_u128(METHOD, fee)?),
            },
        }))
    }

    /// `eth_getCode` at the latest block.
    pub fn code(&self, address: Address) -> Result<Bytes, RpcError> {
        bytes("eth_getCode", &self.call("eth_getCode", json!([address, "latest"]))?)
    }

    /// `eth_getTransactionCount`: the next nonce of `address` at `block`.
    pub fn nonce(&self, address: Address, block: BlockId) -> Result<u64, RpcError> {
        quantity_u64(
            "eth_getTransactionCount",
            &self.call("eth_getTransactionCount", json!([address, block.to_json()]))?,
        )
    }

    /// `eth_gasPrice`.
    pub fn gas_price(&self) -> Result<u128, RpcError> {
        quantity_u128("eth_gasPrice", &self.call("eth_gasPrice", json!([]))?)
    }

    /// `eth_maxPriorityFeePerGas`.
    pub fn max_priority_fee(&self) -> Result<u128, RpcError> {
        quantity_u128("eth_maxPriorityFeePerGas", &self.call("eth_maxPriorityFeePerGas", json!([]))?)
    }

    /// `eth_estimateGas` of a call from `from` to `to` with `input`.
    pub fn estimate_gas(&self, from: Address, to: Option<Address>, input: &Bytes) -> Result<u64, RpcError> {
        let mut request = json!({"from": from, "input": input});
        if let Some(to) = to {
            request["to"] = json!(to);
        }
        quantity_u64("eth_estimateGas", &self.call("eth_estimateGas", json!([request]))?)
    }

    /// `eth_call` of `to` with `input` at `block`.
    pub fn eth_call(&self, to: Address, input: &Bytes, block: BlockId) -> Result<Bytes, RpcError> {
        bytes("eth_call", &self.call("eth_call", json!([{"to": to, "input": input}, block.to_json()]))?)
    }

    /// `eth_sendRawTransaction`; the transaction's hash.
    pub fn send_raw_transaction(&self, raw: &Bytes) -> Result<B256, RpcError> {
        hash("eth_sendRawTransaction", &self.call("eth_sendRawTransaction", json!([raw]))?)
    }

    /// `eth_getTransactionByHash`: whether the node knows the transaction (pooled or mined).
    pub fn knows_transaction(&self, tx_hash: B256) -> Result<bool, RpcError> {
        Ok(!self.call("eth_getTransactionByHash", json!([tx_hash]))?.is_null())
    }

    /// `eth_getTransactionByHash`: the transaction's input, `None` when the node does not know it.
    pub fn transaction_input(&self, tx_hash: B256) -> Result<Option<Bytes>, RpcError> {
        const METHOD: &str = "eth_getTransactionByHash";
        let value = self.call(METHOD, json!([tx_hash]))?;
        if value.is_null() {
            return Ok(None);
        }
        bytes(METHOD, value.get("input").unwrap_or(&Value::Null)).map(Some)
    }

    /// `eth_getTransactionReceipt`; `None` while the transaction is not in a block.
    pub fn receipt(&self, tx_hash: B256) -> Result<Option<Receipt>, RpcError> {
        const METHOD: &str = "eth_getTransactionReceipt";
        let value = self.call(METHOD, json!([tx_hash]))?;
        if value.is_null() {
            return Ok(None);
        }
        let logs = value["logs"]
            .as_array()
            .ok_or(RpcError::BadAnswer { method: METHOD, detail: "no logs".into() })?
            .iter()
            .map(|log| parse_log(METHOD, log))
            .collect::<Result<_, _>>()?;
        Ok(Some(Receipt {
            transaction_hash: hash(METHOD, &value["transactionHash"])?,
            block_number: quantity_u64(METHOD, &value["blockNumber"])?,
            block_hash: hash(METHOD, &value["blockHash"])?,
            success: quantity_u64(METHOD, &value["status"])? == 1,
            gas_used: quantity_u64(METHOD, &value["gasUsed"])?,
            contract_address: match value.get("contractAddress") {
                None | Some(Value::Null) => None,
                Some(address) => Some(
                    serde_json::from_value(address.clone())
                        .map_err(|error| RpcError::BadAnswer { method: METHOD, detail: error.to_string() })?,
                ),
            },
            logs,
        }))
    }

    /// `eth_getLogs` of `address` with first topic `topic0` and second topic `topic1` (when
    /// given), in blocks `from..=to`.
    pub fn logs(
        &self,
        address: Address,
        topic0: B256,
        topic1: Option<B256>,
        from: u64,
        to: BlockId,
    ) -> Result<Vec<Log>, RpcError> {
        const METHOD: &str = "eth_getLogs";
        let topics = match topic1 {
            Some(topic1) => json!([topic0, topic1]),
            None => json!([topic0]),
        };
        let filter =
            json!({"address": address, "topics": topics, "fromBlock": format!("{from:#x}"), "toBlock": to.to_json()});
        let value = self.call(METHOD, json!([filter]))?;
        value
            .as_array()
            .ok_or(RpcError::BadAnswer { method: METHOD, detail: "not a list".into() })?
            .iter()
            .map(|log| parse_log(METHOD, log))
            .collect()
    }
}

fn node_error(method: &'static str, error: &Value) -> Result<Value, RpcError> {
    let data = error.get("data").and_then(|data| match data {
        Value::String(text) => text.parse::<Bytes>().ok(),
        // Some nodes nest it: {"data": {"data": "0x.."}}.
        Value::Object(inner) => inner.get("data").and_then(Value::as_str).and_then(|text| text.parse().ok()),
        _ => None,
    });
    Err(RpcError::Node {
        method,
        code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
        message: error.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
        data,
    })
}

fn parse_log(method: &'static str, log: &Value) -> Result<Log, RpcError> {
    let topics = log["topics"]
        .as_array()
        .ok_or(RpcError::BadAnswer { method, detail: "log without topics".into() })?
        .iter()
        .map(|topic| hash(method, topic))
        .collect::<Result<_, _>>()?;
    Ok(Log {
        address: serde_json::from_value(log["address"].clone())
            .map_err(|error| RpcError::BadAnswer { method, detail: error.to_string() })?,
        topics,
        data: bytes(method, &log["data"])?,
        block_number: quantity_u64(method, &log["blockNumber"])?,
        block_hash: hash(method, &log["blockHash"])?,
        transaction_hash: hash(method, &log["transactionHash"])?,
    })
}

fn quantity_text<'a>(method: &'static str, value: &'a Value) -> Result<&'a str, RpcError> {
    value
        .as_str()
        .and_then(|text| text.strip_prefix("0x"))
        .ok_or_else(|| RpcError::BadAnswer { method, detail: format!("not a hex quantity: {value}") })
}

fn quantity_u64(method: &'static str, value: &Value) -> Result<u64, RpcError> {
    let text = quantity_text(method, value)?;
    u64::from_str_radix(text, 16).map_err(|_| RpcError::BadAnswer { method, detail: format!("bad quantity: {value}") })
}

fn quantity_u128(method: &'static str, value: &Value) -> Result<u128, RpcError> {
    let text = quantity_text(method, value)?;
    u128::from_str_radix(text, 16).map_err(|_| RpcError::BadAnswer { method, detail: format!("bad quantity: {value}") })
}

fn hash(method: &'static str, value: &Value) -> Result<B256, RpcError> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| RpcError::BadAnswer { method, detail: format!("not a 32-byte hash: {value}") })
}

fn bytes(method: &'static str, value: &Value) -> Result<Bytes, RpcError> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| RpcError::BadAnswer { method, detail: format!("not hex data: {value}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_node_errors_parse() {
        assert_eq!(quantity_u64("m", &json!("0x1f")).unwrap(), 31);
        assert!(quantity_u64("m", &json!("1f")).is_err());
        assert!(quantity_u64("m", &json!(31)).is_err());
        assert!(quantity_u64("m", &json!("0x10000000000000000")).is_err());
        let error =
            node_error("eth_call", &json!({"code": 3, "message": "execution reverted", "data": "0x1234"})).unwrap_err();
        assert_eq!(error.revert_data().map(|data| data.to_vec()), Some(vec![0x12, 0x34]));
        let nested =
            node_error("eth_call", &json!({"code": -32000, "message": "m", "data": {"data": "0xab"}})).unwrap_err();
        assert_eq!(nested.revert_data().map(|data| data.to_vec()), Some(vec![0xab]));
    }

    #[test]
    fn urls_in_logs_keep_only_scheme_host_and_port() {
        assert_eq!(redacted("https://user:key@rpc.example:8545/v3/SECRET?k=1"), "https://rpc.example:8545");
        assert_eq!(redacted("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
    }

    #[test]
    fn an_unreachable_node_is_named_as_such() {
        // Port 9 (discard) on loopback: nothing listens there in tests.
        let client = RpcClient::new("http://user:secret-key@127.0.0.1:9/v1", Duration::from_millis(500));
        let error = client.chain_id().unwrap_err();
        assert!(matches!(error, RpcError::Unreachable { .. }));
        assert!(!error.to_string().contains("secret-key") && !error.to_string().contains("127.0.0.1"), "{error}");
    }
}
