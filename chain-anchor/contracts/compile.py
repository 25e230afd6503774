#!/usr/bin/env python3
"""Compiles the anchor contract with solcjs (npm `solc`, pinned in scripts/chain-tools.sh).

    compile.py SOLCJS OUT_DIR

Writes OUT_DIR/LedgerAnchor.bin (creation bytecode, hex, one line), OUT_DIR/LedgerAnchor.runtime.bin
(the code a deployment leaves at its address: start-up compares it) and OUT_DIR/LedgerAnchor.abi.json
(the ABI, pretty-printed, keys sorted). The committed copies beside this file were made by it; the
chain-anchor crate's `contract_artifacts` test recompiles and compares byte for byte. The settings
are fixed here, so the output depends only on the sources and the compiler version: EVM version
cancun (what Hyperledger Besu and anvil both run), optimizer on, and no metadata hash appended (it
would change with nothing but comments).
"""
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
SOURCES = ["ILedgerAnchor.sol", "LedgerAnchor.sol"]


def main() -> int:
    solcjs, out_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    request = {
        "language": "Solidity",
        "sources": {name: {"content": (HERE / name).read_text()} for name in SOURCES},
        "settings": {
            "evmVersion": "cancun",
            "viaIR": True,
            "optimizer": {"enabled": True, "runs": 1000000},
            "metadata": {"bytecodeHash": "none", "appendCBOR": False},
            "outputSelection": {"LedgerAnchor.sol": {"LedgerAnchor": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }
    done = subprocess.run([solcjs, "--standard-json", "--base-path", str(HERE)], input=json.dumps(request),
                          capture_output=True, text=True, check=True)
    # solcjs may print warnings before the JSON answer.
    answer = json.loads(done.stdout[done.stdout.index("{"):])
    errors = [e for e in answer.get("errors", []) if e.get("severity") == "error"]
    for e in answer.get("errors", []):
        print(e.get("formattedMessage", e.get("message")), file=sys.stderr)
    if errors:
        return 1
    contract = answer["contracts"]["LedgerAnchor.sol"]["LedgerAnchor"]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "LedgerAnchor.bin").write_text(contract["evm"]["bytecode"]["object"] + "\n")
    (out_dir / "LedgerAnchor.runtime.bin").write_text(contract["evm"]["deployedBytecode"]["object"] + "\n")
    (out_dir / "LedgerAnchor.abi.json").write_text(json.dumps(contract["abi"], indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
