//! Each client's request budget on the HTTP API: a token bucket per client id, refilled at `per_second` up to
//! `burst`. Every authenticated request spends one; a client out of budget gets 429 with
//! `Retry-After` before its request does any work (in particular before a read or a denial
//! commits an `Access` record, so no client can grow the ledger at will).
//!
//! Buckets are kept per registered client id (a finite set: clients come from the config);
//! the map is pruned of full buckets when it grows past [`MAX_CLIENTS`] all the same.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

/// Buckets kept before full ones are pruned.
const MAX_CLIENTS: usize = 10_000;

/// The per-client limiter.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A request refused by the rate limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many requests from this client; retry after {retry_after_s} s")]
pub struct RateLimited {
    /// Whole seconds until the next request is allowed.
    pub retry_after_s: u64,
}

impl RateLimiter {
    /// `per_second` requests a second on average, bursts of up to `burst`.
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Spends one request of `client`'s budget at `now`.
    pub fn check_at(&self, client: &str, now: Instant) -> Result<(), RateLimited> {
        // A poisoned lock only means another request panicked mid-update; the counts stay usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(client) {
            let (per_second, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < burst);
        }
        let bucket = buckets.entry(client.to_owned()).or_insert(Bucket { tokens: self.burst, at: now });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refilled).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second);
            Err(RateLimited { retry_after_s: wait.as_secs().max(1) })
        }
    }

    /// Spends one request of `client`'s budget now.
    pub fn check(&self, client: &str) -> Result<(), RateLimited> {
        self.check_at(client, Instant::now())
    }
}

impl ResponseError for RateLimited {
    fn status_code(&self) -> StatusCode {
        StatusCode::TOO_MANY_REQUESTS
    }

    fn error_response(&self) -> HttpResponse {
        let body = serde_json::json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "throttled", "diagnostics": self.to_string()}],
        });
        HttpResponse::build(self.status_code())
            .insert_header((header::RETRY_AFTER, self.retry_after_s.to_string()))
            .content_type(fhir_models::JSON_MIME_TYPE)
            .body(body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_refill_rate_per_client() {
        let limiter = RateLimiter::new(10, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("a", t0).is_ok());
        }
        let refused = limiter.check_at("a", t0).expect_err("over the burst");
        assert_eq!(refused.retry_after_s, 1);
        // Another client has its own budget.
        assert!(limiter.check_at("b", t0).is_ok());
        // A tenth of a second later, one more request fits (10 per second).
        assert!(limiter.check_at("a", t0 + Duration::from_millis(101)).is_ok());
        assert!(limiter.check_at("a", t0 + Duration::from_millis(102)).is_err());
    }
}
