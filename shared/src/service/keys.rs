//! Idempotency keys as the write paths use them: the lock a keyed request takes (fingerprint,
//! owner, deadline) and what a refused claim or lock answers (a replay, a key conflict, or a
//! customer conflict).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Reply;
use crate::domain::idempotency::{self, Decision, IdempotencyKey, StoredResponse};
use crate::error::{ApiError, ErrorCode};
use crate::store::{ClaimError, IdempotencyLock};

/// The deployment secret behind request fingerprints; never printed.
#[derive(Clone)]
pub struct IdempotencySecret(secrecy::SecretString);

impl IdempotencySecret {
    pub fn new(secret: secrecy::SecretString) -> Self {
        Self(secret)
    }

    pub fn as_bytes(&self) -> &[u8] {
        use secrecy::ExposeSecret;
        self.0.expose_secret().as_bytes()
    }

    /// The lock a keyed request takes: its fingerprint, owner and deadline.
    pub(super) fn lock(
        &self,
        scope: &str,
        key: &IdempotencyKey,
        body: &Value,
        owner: &str,
        hold_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> IdempotencyLock {
        IdempotencyLock {
            scope: scope.to_owned(),
            key: key.as_str().to_owned(),
            fingerprint: idempotency::fingerprint(self.as_bytes(), scope, body),
            owner: owner.to_owned(),
            locked_until: hold_until,
            expires_at: idempotency::expires_at(now),
        }
    }
}

impl std::fmt::Debug for IdempotencySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencySecret(..)")
    }
}

/// What a refused claim answers: a replay, a key conflict, or a customer conflict.
pub(super) fn refused_claim(
    error: ClaimError,
    lock: Option<&IdempotencyLock>,
    now: DateTime<Utc>,
) -> Result<Reply, ApiError> {
    match error {
        ClaimError::KeyTaken(record) => {
            let fingerprint = lock
                .map(|l| &l.fingerprint)
                .ok_or_else(ApiError::internal)?;
            match idempotency::decide(Some(&record), fingerprint, now) {
                Decision::Replay(r) => Ok(Reply {
                    status: r.status,
                    body: r.body,
                    replayed: true,
                }),
                Decision::Reused => Err(ApiError::new(
                    ErrorCode::IdempotencyKeyReused,
                    "this idempotency key was used with a different request",
                )),
                Decision::InUse { retry_after } => Err(in_use(retry_after)),
                // The record lapsed between the write and now: the retry will take it.
                Decision::Proceed => Err(in_use(1)),
            }
        }
        ClaimError::Contended => Err(in_use(1)),
        ClaimError::AlreadyVerified {
            verification_id,
            verified_at,
        } => {
            let mut err = ApiError::new(
                ErrorCode::CustomerAlreadyVerified,
                "the customer has passed KYC and cannot be verified again",
            );
            if let Some(v) = verification_id {
                err = err.with_detail("verification_id", v);
            }
            if let Some(at) = verified_at {
                err = err.with_time("verified_at", at);
            }
            Err(err)
        }
        ClaimError::AlreadyActive { verification_id } => Err(ApiError::new(
            ErrorCode::VerificationAlreadyActive,
            "the customer already has a verification in progress with this provider",
        )
        .with_detail("verification_id", verification_id)),
        ClaimError::Store(e) => Err(e.into()),
    }
}

/// A provider's refusal is final and kept for replays; a 5xx is not (the key is released so a
/// retry runs again).
pub(super) fn kept_answer(err: &ApiError, request_id: &str) -> Option<StoredResponse> {
    (err.status() < 500).then(|| StoredResponse {
        status: err.status(),
        body: err.to_json(request_id).to_string(),
    })
}

/// The kept answer as a reply, or the error itself when nothing is kept.
pub(super) fn answer(stored: Option<StoredResponse>, err: ApiError) -> Result<Reply, ApiError> {
    match stored {
        Some(r) => Ok(Reply::fresh(r.status, r.body)),
        None => Err(err),
    }
}

fn in_use(retry_after: u64) -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyInUse,
        "a request with this idempotency key is still being processed",
    )
    .with_retry_after(retry_after)
}

/// Answered when concurrent writers kept winning the version race.
pub(super) fn concurrent_update(message: &str) -> ApiError {
    ApiError::new(ErrorCode::ConcurrentUpdate, message).with_retry_after(1)
}
