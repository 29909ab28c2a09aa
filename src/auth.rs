//! Bearer-token authentication: turns a signed JWT into an [`Actor`].
//!
//! Two key set-ups exist. A shared HS256 secret suits a single deployment
//! that mints its own tokens (`envagin token`); a JWKS suits an external
//! identity provider that signs with RS256 or ES256. Each set-up accepts only
//! its own algorithms, and a key is only ever used with the one algorithm its
//! type implies, so a token cannot pick how it is verified.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use crate::domain::actor::{Actor, Role};
use crate::secrets::{self, SecretError, SecretOrigin, SecretSpec};

const SECRET_FILE_NAME: &str = "jwt-secret";
const SECRET_ENV_VAR: &str = "ENVAGIN_JWT_SECRET";
const JWKS_TIMEOUT: Duration = Duration::from_secs(10);
/// A key set is a few kilobytes; a bigger answer is a misconfiguration or an attack.
const JWKS_MAX_BYTES: usize = 1024 * 1024;
/// Keys the identity provider withdrew stop being trusted within this time,
/// even if no token with a new `kid` ever triggers a refresh.
const JWKS_MAX_AGE: Duration = Duration::from_secs(60 * 60);
const JWKS_ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

#[derive(Clone)]
pub struct AuthSettings {
    pub jwt_secret: Option<String>,
    pub jwks_url: Option<String>,
    pub issuer: String,
    pub audience: String,
    pub leeway_secs: u64,
    /// Longest lifetime a token may have (`exp` − `iat`, or what is left of
    /// it when `iat` is missing), in seconds.
    pub max_lifetime_secs: u64,
    pub data_dir: PathBuf,
    pub jwks_min_refresh: Duration,
}

impl AuthSettings {
    pub const DEFAULT_LEEWAY_SECS: u64 = 30;
    /// A working day and then some: a stolen token is worth a day at most.
    pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 24 * 60 * 60;
    pub const DEFAULT_JWKS_MIN_REFRESH: Duration = Duration::from_secs(60);
}

/// Hand-written so that logging the settings never prints the secret.
impl fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("jwks_url", &self.jwks_url)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .field("max_lifetime_secs", &self.max_lifetime_secs)
            .field("data_dir", &self.data_dir)
            .field("jwks_min_refresh", &self.jwks_min_refresh)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("both a JWT secret and a JWKS URL are configured; set only one of them")]
    AmbiguousKeys,
    #[error("the JWT {0} is empty; set it to the value the identity provider puts in tokens")]
    EmptySetting(&'static str),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(
        "tokens are verified against a JWKS, so there is no local signing secret; \
         obtain tokens from the identity provider"
    )]
    NoLocalSecret,
    #[error(
        "unsupported JWKS location {0:?}: use an https:// or http:// URL, \
         a file:///absolute/path or a filesystem path"
    )]
    JwksLocation(String),
    #[error("cannot set up the HTTP client for fetching the JWKS: {0}")]
    HttpClient(String),
    #[error("cannot fetch the JWKS from {url}: {reason}")]
    JwksFetch { url: String, reason: String },
    #[error("cannot read the JWKS file {path}: {source}")]
    JwksRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the JWKS from {origin} is not usable: {reason}")]
    JwksInvalid { origin: String, reason: String },
}

/// Why a token was refused. The texts are safe to show to the client: they
/// never carry key material or claim values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    MissingToken,
    #[error("token not valid")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token lifetime longer than accepted")]
    LifetimeTooLong,
    #[error("token issuer not accepted")]
    WrongIssuer,
    #[error("token audience not accepted")]
    WrongAudience,
    #[error("token signing algorithm not accepted")]
    AlgorithmNotAccepted,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("could not sign token")]
    Signing,
}

impl AuthError {
    fn from_jwt(error: &jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
                Self::AlgorithmNotAccepted
            }
            _ => Self::Invalid,
        }
    }
}

/// The token from an Authorization header value: "Bearer <token>" (scheme
/// case-insensitive), else None.
pub fn bearer_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.trim().split_once(' ')?;
    let token = token.trim();
    let well_formed = !token.is_empty() && !token.contains(char::is_whitespace);
    (scheme.eq_ignore_ascii_case("bearer") && well_formed).then_some(token)
}

/// "8h", "30m", "45s", "2d", "3600" (seconds) → Duration; Err(message) otherwise.
pub fn parse_ttl(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let invalid = || format!("invalid lifetime {raw:?}: use e.g. 8h, 30m, 45s, 2d or seconds");
    let (digits, unit) = match raw.char_indices().last() {
        Some((at, unit)) if unit.is_ascii_alphabetic() => (&raw[..at], unit),
        _ => (raw, 's'),
    };
    let unit_secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 60 * 60,
        'd' => 24 * 60 * 60,
        _ => return Err(invalid()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let secs = digits
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit_secs))
        .ok_or_else(|| format!("lifetime {raw:?} is too long"))?;
    if secs == 0 {
        return Err(format!("lifetime {raw:?} must be longer than zero"));
    }
    Ok(Duration::from_secs(secs))
}

pub struct MintClaims {
    pub sub: String,
    pub name: Option<String>,
    pub roles: Vec<String>,
    pub adm: Vec<String>,
    pub ttl: Duration,
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    roles: &'a [String],
    adm: &'a [String],
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
}

/// Signs an HS256 token with iss/aud from settings, iat/nbf = now, exp = now + ttl.
/// A `ttl` beyond the settings' maximum lifetime is refused: the server
/// would refuse the token anyway.
pub fn mint_token(
    secret: &[u8],
    settings: &AuthSettings,
    claims: &MintClaims,
) -> Result<String, AuthError> {
    if claims.ttl.as_secs() > settings.max_lifetime_secs {
        return Err(AuthError::LifetimeTooLong);
    }
    let now = jsonwebtoken::get_current_timestamp();
    let minted = MintedClaims {
        sub: &claims.sub,
        name: claims.name.as_deref(),
        roles: &claims.roles,
        adm: &claims.adm,
        iss: &settings.issuer,
        aud: &settings.audience,
        iat: now,
        nbf: now,
        exp: now.saturating_add(claims.ttl.as_secs()),
    };
    let header = Header::new(Algorithm::HS256);
    jsonwebtoken::encode(&header, &minted, &EncodingKey::from_secret(secret))
        .map_err(|_| AuthError::Signing)
}

/// The HS256 secret the server would use (same resolution as the server,
/// including generating the file), for the `envagin token` CLI.
pub fn local_secret(settings: &AuthSettings) -> Result<Vec<u8>, AuthSetupError> {
    if settings.jwks_url.is_some() {
        return Err(AuthSetupError::NoLocalSecret);
    }
    resolve_secret(settings).map(|(secret, _)| secret)
}

fn resolve_secret(settings: &AuthSettings) -> Result<(Vec<u8>, SecretOrigin), AuthSetupError> {
    Ok(secrets::resolve(&SecretSpec {
        what: "JWT signing secret",
        env_var: SECRET_ENV_VAR,
        file_name: SECRET_FILE_NAME,
        configured: settings.jwt_secret.as_deref(),
        data_dir: &settings.data_dir,
    })?)
}

/// What every accepted token must satisfy besides its signature.
struct ClaimPolicy {
    issuer: String,
    audience: String,
    leeway_secs: u64,
    max_lifetime_secs: u64,
}

impl ClaimPolicy {
    fn from_settings(settings: &AuthSettings) -> Result<Self, AuthSetupError> {
        if settings.issuer.trim().is_empty() {
            return Err(AuthSetupError::EmptySetting("issuer"));
        }
        if settings.audience.trim().is_empty() {
            return Err(AuthSetupError::EmptySetting("audience"));
        }
        Ok(Self {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway_secs: settings.leeway_secs,
            max_lifetime_secs: settings.max_lifetime_secs,
        })
    }

    /// One algorithm per validation: the library then refuses any key whose
    /// family differs, which is what rules out algorithm confusion.
    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation
    }

    /// A signature proves who issued a token, not that it should still be
    /// good decades from now: a token valid for longer than the maximum
    /// (an identity provider misconfigured, or a key used to mint "forever"
    /// tokens) is refused however far its `exp` is. The lifetime counts
    /// from `iat`, or from now when `iat` is missing or in the future (a
    /// future `iat` would otherwise hide a far `exp`).
    fn check_lifetime(&self, claims: &TokenClaims) -> Result<(), AuthError> {
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        let issued = claims.iat.map_or(now, |iat| iat.min(now));
        let lifetime = claims.exp.saturating_sub(issued);
        let allowed = self.max_lifetime_secs.saturating_add(self.leeway_secs);
        if u64::try_from(lifetime).is_ok_and(|lifetime| lifetime > allowed) {
            return Err(AuthError::LifetimeTooLong);
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "issuer {:?}, audience {:?}, leeway {} s, lifetime at most {} s",
            self.issuer, self.audience, self.leeway_secs, self.max_lifetime_secs
        )
    }
}

#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    roles: Vec<String>,
    #[serde(default)]
    adm: Vec<String>,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
}

impl TokenClaims {
    fn into_actor(self) -> Result<Actor, AuthError> {
        if self.sub.trim().is_empty() {
            return Err(AuthError::Invalid);
        }
        Ok(Actor {
            sub: self.sub,
            name: self.name.filter(|name| !name.trim().is_empty()),
            roles: self
                .roles
                .iter()
                .filter_map(|r| Role::from_claim(r))
                .collect(),
            administrations: self.adm.into_iter().collect(),
            expires_at: Some(self.exp),
        })
    }
}

/// A key bound to the single algorithm it may verify.
struct VerifyKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

impl VerifyKey {
    fn verify(
        &self,
        token: &str,
        header: &Header,
        policy: &ClaimPolicy,
    ) -> Result<Actor, AuthError> {
        if header.alg != self.alg {
            return Err(AuthError::AlgorithmNotAccepted);
        }
        let validation = policy.validation(self.alg);
        let claims = jsonwebtoken::decode::<TokenClaims>(token, &self.key, &validation)
            .map_err(|error| AuthError::from_jwt(&error))?
            .claims;
        policy.check_lifetime(&claims)?;
        claims.into_actor()
    }
}

/// `alg: none` never gets here: the header does not parse without a known algorithm.
fn read_header(token: &str) -> Result<Header, AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
    // RFC 7515: critical extensions we do not implement make the token unusable.
    if header.crit.is_some() {
        return Err(AuthError::Invalid);
    }
    Ok(header)
}

#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    policy: ClaimPolicy,
    description: String,
}

enum Keys {
    Shared(VerifyKey),
    Jwks(JwksKeys),
}

impl Authenticator {
    pub async fn from_settings(settings: &AuthSettings) -> Result<Self, AuthSetupError> {
        let policy = ClaimPolicy::from_settings(settings)?;
        let (keys, description) = match (&settings.jwt_secret, &settings.jwks_url) {
            (Some(_), Some(_)) => return Err(AuthSetupError::AmbiguousKeys),
            (None, Some(location)) => jwks_keys(location, settings.jwks_min_refresh).await?,
            (_, None) => shared_key(settings)?,
        };
        let description = format!("{description}; {}", policy.describe());
        let inner = Inner {
            keys,
            policy,
            description,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Verifies a raw token (without the "Bearer " prefix).
    pub async fn authenticate(&self, token: &str) -> Result<Actor, AuthError> {
        let header = read_header(token)?;
        let policy = &self.inner.policy;
        let result = match &self.inner.keys {
            Keys::Shared(key) => key.verify(token, &header, policy),
            Keys::Jwks(jwks) => jwks.key_for(&header).await?.verify(token, &header, policy),
        };
        if let Err(error) = &result {
            tracing::debug!(%error, kid = ?header.kid, alg = ?header.alg, "bearer token refused");
        }
        result
    }

    /// One line for the start-up log: which set-up, which issuer/audience,
    /// where the secret or JWKS came from (never the secret).
    pub fn describe(&self) -> String {
        self.inner.description.clone()
    }
}

fn shared_key(settings: &AuthSettings) -> Result<(Keys, String), AuthSetupError> {
    let (secret, origin) = resolve_secret(settings)?;
    let key = VerifyKey {
        kid: None,
        alg: Algorithm::HS256,
        key: DecodingKey::from_secret(&secret),
    };
    let description = format!("JWT HS256 with a shared secret {origin}");
    Ok((Keys::Shared(key), description))
}

async fn jwks_keys(
    location: &str,
    min_refresh: Duration,
) -> Result<(Keys, String), AuthSetupError> {
    let source = JwksSource::parse(location)?;
    let cache = source.load().await?;
    let description = format!(
        "JWT RS256/ES256 with keys from the JWKS at {source} ({} usable, kids: {}), \
         refreshed on an unknown kid at most every {} s",
        cache.count,
        cache.kids(),
        min_refresh.as_secs()
    );
    let jwks = JwksKeys {
        source,
        min_refresh,
        cache: RwLock::new(cache),
        last_refresh: Mutex::new(None),
    };
    Ok((Keys::Jwks(jwks), description))
}

struct JwksKeys {
    source: JwksSource,
    min_refresh: Duration,
    cache: RwLock<KeyCache>,
    /// Also serialises refreshes, so a burst of tokens with a new kid costs one fetch.
    last_refresh: Mutex<Option<Instant>>,
}

impl JwksKeys {
    async fn key_for(&self, header: &Header) -> Result<Arc<VerifyKey>, AuthError> {
        if !JWKS_ALGORITHMS.contains(&header.alg) {
            return Err(AuthError::AlgorithmNotAccepted);
        }
        if self.cache.read().await.fetched_at.elapsed() >= JWKS_MAX_AGE {
            self.refresh_if_allowed().await;
        }
        let Some(kid) = header.kid.as_deref() else {
            return self
                .cache
                .read()
                .await
                .sole
                .clone()
                .ok_or(AuthError::UnknownKey);
        };
        if let Some(key) = self.cache.read().await.find(kid) {
            return Ok(key);
        }
        self.refresh_if_allowed().await;
        self.cache
            .read()
            .await
            .find(kid)
            .ok_or(AuthError::UnknownKey)
    }

    /// The attempt counts even when it fails, so an unreachable identity
    /// provider is not hammered by every request.
    async fn refresh_if_allowed(&self) {
        let mut last_refresh = self.last_refresh.lock().await;
        if last_refresh.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return;
        }
        *last_refresh = Some(Instant::now());
        match self.source.load().await {
            Ok(cache) => *self.cache.write().await = cache,
            Err(error) => tracing::warn!(%error, "JWKS refresh failed; keeping the previous keys"),
        }
    }
}

struct KeyCache {
    by_kid: HashMap<String, Arc<VerifyKey>>,
    /// Set only when the set holds exactly one usable key: a token without
    /// `kid` is unambiguous then, and only then.
    sole: Option<Arc<VerifyKey>>,
    count: usize,
    fetched_at: Instant,
}

impl KeyCache {
    fn new(keys: Vec<VerifyKey>) -> Self {
        let keys: Vec<Arc<VerifyKey>> = keys.into_iter().map(Arc::new).collect();
        let sole = match keys.as_slice() {
            [only] => Some(Arc::clone(only)),
            _ => None,
        };
        let count = keys.len();
        let mut by_kid = HashMap::new();
        for key in keys {
            if let Some(kid) = key.kid.clone() {
                by_kid.entry(kid).or_insert(key);
            }
        }
        Self {
            by_kid,
            sole,
            count,
            fetched_at: Instant::now(),
        }
    }

    fn find(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        self.by_kid.get(kid).cloned()
    }

    fn kids(&self) -> String {
        let mut kids: Vec<&str> = self.by_kid.keys().map(String::as_str).collect();
        kids.sort_unstable();
        if kids.is_empty() {
            "none".to_owned()
        } else {
            kids.join(", ")
        }
    }
}

enum JwksSource {
    Http {
        url: String,
        client: reqwest::Client,
    },
    File(PathBuf),
}

impl fmt::Display for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http { url, .. } => f.write_str(url),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl JwksSource {
    fn parse(location: &str) -> Result<Self, AuthSetupError> {
        let location = location.trim();
        let unsupported = || AuthSetupError::JwksLocation(location.to_owned());
        if location.starts_with("https://") || location.starts_with("http://") {
            return Self::http(location);
        }
        if let Some(path) = location.strip_prefix("file://") {
            // Only file:///abs: a host part (file://server/x) cannot be read locally.
            return match path.starts_with('/') {
                true => Ok(Self::File(PathBuf::from(path))),
                false => Err(unsupported()),
            };
        }
        if location.is_empty() || location.contains("://") {
            return Err(unsupported());
        }
        Ok(Self::File(PathBuf::from(location)))
    }

    fn http(url: &str) -> Result<Self, AuthSetupError> {
        if url.starts_with("http://") {
            tracing::warn!("the JWKS at {url} is fetched without TLS; use https:// in production");
        }
        let client = reqwest::Client::builder()
            .timeout(JWKS_TIMEOUT)
            .build()
            .map_err(|error| AuthSetupError::HttpClient(error_chain(&error)))?;
        Ok(Self::Http {
            url: url.to_owned(),
            client,
        })
    }

    async fn load(&self) -> Result<KeyCache, AuthSetupError> {
        let body = match self {
            Self::Http { url, client } => fetch(client, url).await?,
            Self::File(path) => {
                tokio::fs::read(path)
                    .await
                    .map_err(|source| AuthSetupError::JwksRead {
                        path: path.clone(),
                        source,
                    })?
            }
        };
        let keys = usable_keys(&body).map_err(|reason| AuthSetupError::JwksInvalid {
            origin: self.to_string(),
            reason,
        })?;
        Ok(KeyCache::new(keys))
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, AuthSetupError> {
    let failed = |reason: String| AuthSetupError::JwksFetch {
        url: url.to_owned(),
        reason,
    };
    let mut response = client
        .get(url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|error| failed(error_chain(&error)))?;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failed(error_chain(&e)))?
    {
        if body.len() + chunk.len() > JWKS_MAX_BYTES {
            return Err(failed(format!(
                "the answer is larger than {JWKS_MAX_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's own message hides the cause ("error sending request"), which is
/// the part an operator needs.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Deserialize)]
struct RawKeySet {
    keys: Vec<serde_json::Value>,
}

/// Keys are parsed one by one: identity providers also publish encryption
/// keys (e.g. `alg: RSA-OAEP`) that must be skipped, not fail the whole set.
fn usable_keys(body: &[u8]) -> Result<Vec<VerifyKey>, String> {
    let set: RawKeySet = serde_json::from_slice(body).map_err(|error| error.to_string())?;
    let keys: Vec<VerifyKey> = set.keys.into_iter().filter_map(verify_key).collect();
    if keys.is_empty() {
        return Err("it holds no RS256 or ES256 (P-256) signing key".to_owned());
    }
    Ok(keys)
}

fn verify_key(value: serde_json::Value) -> Option<VerifyKey> {
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let for_signing = matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    );
    let alg = signing_algorithm(&jwk.algorithm)?;
    let declared_alg_fits = jwk
        .common
        .key_algorithm
        .is_none_or(|declared| declared == KeyAlgorithm::from(alg));
    if !for_signing || !declared_alg_fits {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(VerifyKey {
        kid: jwk.common.key_id,
        alg,
        key,
    })
}

/// The key type alone decides the algorithm; symmetric (`oct`) keys in a
/// JWKS are never used, since anyone who can read the set would know them.
fn signing_algorithm(params: &AlgorithmParameters) -> Option<Algorithm> {
    match params {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::{Read, Write};
    use std::path::Path;

    use jsonwebtoken::jwk::{CommonParameters, JwkSet};
    use serde_json::{Value, json};

    use super::*;

    const ISSUER: &str = "https://idp.example.test";
    const AUDIENCE: &str = "envagin";
    const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

    /// Fixed 2048-bit test key pair (openssl genrsa 2048 / openssl rsa -pubout).
    const RSA_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCYGgk6rTFUOTry
nnR6CYSfkZJeR9TJ2gFKBIIaVQlprcJCws6YGdpQUGvpao5zxrKIT+wgjXe5oVFU
RHmy+srFaCpMIpT/NljA2jBG7Zn/fraxgws546wGdlcYzmO2Xp2xnBjpEAo2cF3e
ZgQccu6LNeCHNy8iWan6PWj/LhTMW+cD9h/2lfJEheAMpcbwn1w4lOy5yrct0Sbr
xEKcPZbqbmm1CbKYB5qqjuqIL8CFR06WMGgI9aOG53uCpLpF1lXcDE3E2ZQTx2QY
mmiAi/mFN/cMHXl1+/4eg9ibk8ngZpVq6Q3k5Jow/hqG/01qActm9jlS+0H2If7v
mjg3ZGiDAgMBAAECggEACFiFYR7XshNh1KY1Je0Xxdmq+llep6S6pWER8nfwCEhs
fFVMGLRyci23fhtGrbudWDVqc27PvvPHDqSjONrh/Wr1xy+ulUJaJFrUg0/OP2Ko
i5zxJMAFVGVx6f6JIhyW8oPqKf+jT9FilS1r1FPKGwFdzI2OnIfm98Ae3sGcion6
ujaEhjiFdDkM71Mygp/UqrPb/DkJCtbUDOGUVDOnG4iPzowdv+jAU784Xpr167QY
MhaBE66pei0ouoLjRBe0L4uBJ/o4sx5pPwWS06E5zBHb8wAcFj0coBrmwWmiQVcM
p0wZRSZ8sPScQ8mEQfWATv0FFvjKagPqY9Ye0tLxYQKBgQDODbtmIpyJ4Uql54PU
ih98Z3M6wukWE3vEG9E29HxZA18urFGKfOwKiyek+8opFsDbGOPf2XkMidJJl2Fd
s6QlneqBKyyGLQ4y7xGDe9TzqTK327ynhpGJenM7qUvDIzdEZjVmFE/vf+NFMh7s
/LnH6H+GRl9qb7UqZBbzcxyO3QKBgQC8+Gs5ohEQ6b60R90wWTvd7ZH7/xEYJE8z
RyXue55D8MPQ4bZtTQwrSCgL5ZMdpjHiZAw8SJBwxV3jEE8x7fZebWykM328XT9J
1Z1ECvnXEQKuwQhTDKkvEpX2VsYy8zJOkr5voMIY7xcLaGXtItVg3FcV3KKT1kbt
nx/7hBVu3wKBgGvpQSViJv0GoeN09dOPaqHqQ6yYex12orC3qL/RFnY/j8+PqzyN
48g5zE9ZFiyin+mehWisKfrpCtpDj1hVRjf1FeUDyVOTsQX3sgJcDdB14fvr9kb9
8KZBHKw4I1dU0BLgPELzjFFvdoS8lPmj+V+6YV7e6AWD7yr+NA7XUDN5AoGAcuJI
NeKco36nzOx/wZwOdG6xONWp69ZvPAp+Og13e3CNa5k9khesVUfp6MmqdfULEMqo
UaIABj9HQ/svWniENoYp7W3MfE7oYhf3I13U5HZX/iwmxm7FEHQpLXk1x9XoeLJo
Cm9ecVAx32KZzOBHfzqVyxm20VANEPuTsxJrAVsCgYBTHC1KRy2njtVQH+124rYR
WdcANMTAKgdHxgrTpTd71pEeNblkxS2OTHHTAv8PgXellNeFi7ngyK1vIngw3MCD
z3rWX1iZCAbpkKArp4dLb3b26E78jNH172zlzeUJEUAavoWRldhzE8iZGyjmyDNT
lY0r6k6Qqo1qMIOklw6Jag==
-----END PRIVATE KEY-----
";

    const RSA_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmBoJOq0xVDk68p50egmE
n5GSXkfUydoBSgSCGlUJaa3CQsLOmBnaUFBr6WqOc8ayiE/sII13uaFRVER5svrK
xWgqTCKU/zZYwNowRu2Z/362sYMLOeOsBnZXGM5jtl6dsZwY6RAKNnBd3mYEHHLu
izXghzcvIlmp+j1o/y4UzFvnA/Yf9pXyRIXgDKXG8J9cOJTsucq3LdEm68RCnD2W
6m5ptQmymAeaqo7qiC/AhUdOljBoCPWjhud7gqS6RdZV3AxNxNmUE8dkGJpogIv5
hTf3DB15dfv+HoPYm5PJ4GaVaukN5OSaMP4ahv9NagHLZvY5UvtB9iH+75o4N2Ro
gwIDAQAB
-----END PUBLIC KEY-----
";

    /// Fixed P-256 test key in PKCS#8 (openssl ecparam prime256v1 | openssl pkcs8 -topk8).
    const EC_PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwQFdfV9KBiq2fX3E
EfLFdc694EYhD/PFJ+SP6SOZYeuhRANCAAQMm7Ht/d4kwRZB1YOHepG3TP58+qYd
DFMhoYvbCuRFiU56tbkbizwWgQY8xkBP9jQOzyHMom0QvCm0MzAnBjOy
-----END PRIVATE KEY-----
";

    /// base64url of `{"alg":"none","typ":"JWT"}`.
    const NONE_HEADER: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";

    fn settings(data_dir: &Path) -> AuthSettings {
        AuthSettings {
            jwt_secret: Some(SECRET.to_owned()),
            jwks_url: None,
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            leeway_secs: AuthSettings::DEFAULT_LEEWAY_SECS,
            max_lifetime_secs: AuthSettings::DEFAULT_MAX_LIFETIME_SECS,
            data_dir: data_dir.to_path_buf(),
            jwks_min_refresh: AuthSettings::DEFAULT_JWKS_MIN_REFRESH,
        }
    }

    fn jwks_settings(data_dir: &Path, location: &str, min_refresh: Duration) -> AuthSettings {
        AuthSettings {
            jwt_secret: None,
            jwks_url: Some(location.to_owned()),
            jwks_min_refresh: min_refresh,
            ..settings(data_dir)
        }
    }

    fn now() -> i64 {
        i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
    }

    fn claims() -> Value {
        json!({
            "sub": "user-42",
            "name": "Alva Andersson",
            "roles": ["handler", "contact_centre"],
            "adm": ["BYGG", "SOC"],
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now(),
            "exp": now() + 600,
        })
    }

    fn with(mut claims: Value, field: &str, value: Value) -> Value {
        claims[field] = value;
        claims
    }

    fn without(mut claims: Value, field: &str) -> Value {
        claims.as_object_mut().unwrap().remove(field);
        claims
    }

    fn sign(claims: &Value, alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn hs256(claims: &Value) -> String {
        sign(
            claims,
            Algorithm::HS256,
            None,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
    }

    fn rs256(claims: &Value, kid: Option<&str>) -> String {
        let key = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).unwrap();
        sign(claims, Algorithm::RS256, kid, &key)
    }

    fn es256(claims: &Value, kid: Option<&str>) -> String {
        let key = EncodingKey::from_ec_pem(EC_PRIVATE_PEM.as_bytes()).unwrap();
        sign(claims, Algorithm::ES256, kid, &key)
    }

    fn rsa_jwk(kid: &str) -> Jwk {
        let key = DecodingKey::from_rsa_pem(RSA_PUBLIC_PEM.as_bytes()).unwrap();
        let mut jwk = Jwk::from_decoding_key(&key, Some(Algorithm::RS256)).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        jwk
    }

    fn ec_jwk(kid: &str) -> Jwk {
        let key = EncodingKey::from_ec_pem(EC_PRIVATE_PEM.as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        jwk.common = CommonParameters {
            key_id: Some(kid.to_owned()),
            ..jwk.common
        };
        jwk
    }

    fn write_jwks(path: &Path, keys: Vec<Jwk>) {
        std::fs::write(path, serde_json::to_vec(&JwkSet { keys }).unwrap()).unwrap();
    }

    async fn shared_authenticator(dir: &Path) -> Authenticator {
        Authenticator::from_settings(&settings(dir)).await.unwrap()
    }

    async fn jwks_authenticator(dir: &Path, keys: Vec<Jwk>) -> Authenticator {
        let path = dir.join("jwks.json");
        write_jwks(&path, keys);
        let settings = jwks_settings(dir, path.to_str().unwrap(), Duration::from_secs(60));
        Authenticator::from_settings(&settings).await.unwrap()
    }

    fn mint_claims() -> MintClaims {
        MintClaims {
            sub: "user-42".to_owned(),
            name: Some("Alva Andersson".to_owned()),
            roles: vec!["handler".to_owned(), "wizard".to_owned()],
            adm: vec!["BYGG".to_owned()],
            ttl: Duration::from_secs(600),
        }
    }

    /// Serves `body` once over HTTP on a free local port; returns the URL.
    fn serve_once(body: String) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(body.as_bytes()).unwrap();
        });
        url
    }

    #[tokio::test]
    async fn a_minted_token_authenticates_as_the_right_actor() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let secret = local_secret(&settings).unwrap();
        let token = mint_token(&secret, &settings, &mint_claims()).unwrap();

        let actor = shared_authenticator(dir.path())
            .await
            .authenticate(&token)
            .await
            .unwrap();

        let expires_at = actor.expires_at.expect("exp carried over");
        assert!((expires_at - now() - 600).abs() <= 5, "{expires_at}");
        assert_eq!(
            actor,
            Actor {
                sub: "user-42".to_owned(),
                name: Some("Alva Andersson".to_owned()),
                roles: BTreeSet::from([Role::Handler]),
                administrations: BTreeSet::from(["BYGG".to_owned()]),
                expires_at: Some(expires_at),
            }
        );
    }

    #[tokio::test]
    async fn unknown_roles_are_ignored_and_known_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let claims = with(claims(), "roles", json!(["citizen", "superuser", "admin"]));

        let actor = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        let roles = actor.unwrap().roles;
        assert_eq!(roles, BTreeSet::from([Role::Citizen, Role::Admin]));
    }

    #[tokio::test]
    async fn a_token_without_adm_or_name_has_no_administrations_and_no_name() {
        let dir = tempfile::tempdir().unwrap();
        let claims = without(without(claims(), "adm"), "name");

        let actor = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        let actor = actor.unwrap();
        assert!(actor.administrations.is_empty());
        assert_eq!(actor.name, None);
    }

    #[tokio::test]
    async fn a_token_expired_beyond_the_leeway_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = with(claims(), "exp", json!(now() - 120));

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::Expired));
    }

    #[tokio::test]
    async fn a_token_expired_within_the_leeway_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let claims = with(claims(), "exp", json!(now() - 10));

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert!(result.is_ok());
    }

    #[tokio::test]
    async fn a_token_not_valid_before_a_future_time_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = with(claims(), "nbf", json!(now() + 600));

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::NotYetValid));
    }

    #[tokio::test]
    async fn a_token_from_another_issuer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = with(claims(), "iss", json!("https://evil.example"));

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::WrongIssuer));
    }

    #[tokio::test]
    async fn a_token_for_another_audience_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = with(claims(), "aud", json!(["other-service"]));

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::WrongAudience));
    }

    #[tokio::test]
    async fn a_token_whose_audience_list_includes_ours_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let claims = with(claims(), "aud", json!(["other-service", AUDIENCE]));

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert!(result.is_ok());
    }

    #[tokio::test]
    async fn a_token_without_audience_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = without(claims(), "aud");

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::Invalid));
    }

    #[tokio::test]
    async fn a_token_without_issuer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = without(claims(), "iss");

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::Invalid));
    }

    #[tokio::test]
    async fn a_token_without_expiry_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = without(claims(), "exp");

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::Invalid));
    }

    #[tokio::test]
    async fn a_token_whose_expiry_is_a_string_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = with(claims(), "exp", json!((now() + 600).to_string()));

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::Invalid));
    }

    #[tokio::test]
    async fn a_token_with_an_empty_subject_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = with(claims(), "sub", json!(""));

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::Invalid));
    }

    #[tokio::test]
    async fn a_token_without_subject_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let claims = without(claims(), "sub");

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&hs256(&claims))
            .await;

        assert_eq!(result, Err(AuthError::Invalid));
    }

    #[tokio::test]
    async fn an_unsigned_alg_none_token_is_refused_by_both_set_ups() {
        let dir = tempfile::tempdir().unwrap();
        let payload = hs256(&claims()).split('.').nth(1).unwrap().to_owned();
        let token = format!("{NONE_HEADER}.{payload}.");
        let shared = shared_authenticator(dir.path()).await;
        let jwks = jwks_authenticator(dir.path(), vec![rsa_jwk("k1")]).await;

        assert_eq!(shared.authenticate(&token).await, Err(AuthError::Invalid));
        assert_eq!(jwks.authenticate(&token).await, Err(AuthError::Invalid));
    }

    #[tokio::test]
    async fn a_token_with_a_tampered_signature_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let token = hs256(&claims());
        let (message, signature) = token.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let tampered = format!("{message}.{flipped}{}", &signature[1..]);

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&tampered)
            .await;

        assert_eq!(result, Err(AuthError::Invalid));
    }

    #[tokio::test]
    async fn a_token_signed_with_another_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!");
        let token = sign(&claims(), Algorithm::HS256, None, &key);

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&token)
            .await;

        assert_eq!(result, Err(AuthError::Invalid));
    }

    #[tokio::test]
    async fn the_shared_secret_set_up_refuses_rs256_tokens() {
        let dir = tempfile::tempdir().unwrap();

        let result = shared_authenticator(dir.path())
            .await
            .authenticate(&rs256(&claims(), None))
            .await;

        assert_eq!(result, Err(AuthError::AlgorithmNotAccepted));
    }

    #[tokio::test]
    async fn an_hs256_token_signed_with_the_rsa_public_key_is_refused_by_the_jwks_set_up() {
        let dir = tempfile::tempdir().unwrap();
        let jwks = jwks_authenticator(dir.path(), vec![rsa_jwk("k1")]).await;
        let confused = EncodingKey::from_secret(RSA_PUBLIC_PEM.as_bytes());
        let with_kid = sign(&claims(), Algorithm::HS256, Some("k1"), &confused);
        let without_kid = sign(&claims(), Algorithm::HS256, None, &confused);

        assert_eq!(
            jwks.authenticate(&with_kid).await,
            Err(AuthError::AlgorithmNotAccepted)
        );
        assert_eq!(
            jwks.authenticate(&without_kid).await,
            Err(AuthError::AlgorithmNotAccepted)
        );
    }

    #[tokio::test]
    async fn an_rs256_token_is_accepted_with_a_key_from_a_jwks_file() {
        let dir = tempfile::tempdir().unwrap();
        let jwks = jwks_authenticator(dir.path(), vec![rsa_jwk("k1"), ec_jwk("e1")]).await;

        let actor = jwks
            .authenticate(&rs256(&claims(), Some("k1")))
            .await
            .unwrap();

        assert_eq!(actor.sub, "user-42");
        assert_eq!(
            actor.roles,
            BTreeSet::from([Role::Handler, Role::ContactCentre])
        );
    }

    #[tokio::test]
    async fn an_es256_token_is_accepted_with_a_key_from_a_jwks_file() {
        let dir = tempfile::tempdir().unwrap();
        let jwks = jwks_authenticator(dir.path(), vec![rsa_jwk("k1"), ec_jwk("e1")]).await;

        let actor = jwks
            .authenticate(&es256(&claims(), Some("e1")))
            .await
            .unwrap();

        assert_eq!(
            actor.administrations,
            BTreeSet::from(["BYGG".to_owned(), "SOC".to_owned()])
        );
    }

    #[tokio::test]
    async fn a_token_whose_algorithm_does_not_match_the_key_type_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let jwks = jwks_authenticator(dir.path(), vec![rsa_jwk("k1"), ec_jwk("e1")]).await;

        let result = jwks.authenticate(&es256(&claims(), Some("k1"))).await;

        assert_eq!(result, Err(AuthError::AlgorithmNotAccepted));
    }

    #[tokio::test]
    async fn a_token_without_kid_is_accepted_when_the_set_holds_exactly_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let jwks = jwks_authenticator(dir.path(), vec![rsa_jwk("k1")]).await;

        assert!(jwks.authenticate(&rs256(&claims(), None)).await.is_ok());
    }

    #[tokio::test]
    async fn a_token_without_kid_is_refused_when_the_set_holds_several_keys() {
        let dir = tempfile::tempdir().unwrap();
        let jwks = jwks_authenticator(dir.path(), vec![rsa_jwk("k1"), ec_jwk("e1")]).await;

        let result = jwks.authenticate(&rs256(&claims(), None)).await;

        assert_eq!(result, Err(AuthError::UnknownKey));
    }

    #[tokio::test]
    async fn symmetric_and_encryption_keys_in_a_jwks_are_never_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        let oct = json!({"kty": "oct", "kid": "s1", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"});
        let mut enc = serde_json::to_value(rsa_jwk("x1")).unwrap();
        enc["use"] = json!("enc");
        enc["alg"] = json!("RSA-OAEP");
        let body = json!({"keys": [oct, enc, serde_json::to_value(rsa_jwk("k1")).unwrap()]});
        std::fs::write(&path, body.to_string()).unwrap();
        let settings = jwks_settings(dir.path(), path.to_str().unwrap(), Duration::from_secs(60));
        let jwks = Authenticator::from_settings(&settings).await.unwrap();
        let oct_key = EncodingKey::from_secret(b"secret-secret-secret-secret-secret");

        let hs = sign(&claims(), Algorithm::HS256, Some("s1"), &oct_key);
        let rs_with_enc_key = rs256(&claims(), Some("x1"));

        assert_eq!(
            jwks.authenticate(&hs).await,
            Err(AuthError::AlgorithmNotAccepted)
        );
        assert_eq!(
            jwks.authenticate(&rs_with_enc_key).await,
            Err(AuthError::UnknownKey)
        );
        assert!(jwks.describe().contains("1 usable"));
    }

    #[tokio::test]
    async fn an_unknown_kid_triggers_a_refresh_that_picks_up_a_key_added_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        write_jwks(&path, vec![rsa_jwk("k1")]);
        let location = format!("file://{}", path.display());
        let settings = jwks_settings(dir.path(), &location, Duration::ZERO);
        let jwks = Authenticator::from_settings(&settings).await.unwrap();

        write_jwks(&path, vec![rsa_jwk("k1"), rsa_jwk("k2")]);
        let second = jwks.authenticate(&rs256(&claims(), Some("k2"))).await;
        write_jwks(&path, vec![rsa_jwk("k1"), rsa_jwk("k2"), rsa_jwk("k3")]);
        let third = jwks.authenticate(&rs256(&claims(), Some("k3"))).await;

        assert!(second.is_ok());
        assert!(third.is_ok());
    }

    #[tokio::test]
    async fn a_second_unknown_kid_within_the_refresh_window_does_not_refetch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        write_jwks(&path, vec![rsa_jwk("k1")]);
        let settings = jwks_settings(
            dir.path(),
            path.to_str().unwrap(),
            Duration::from_secs(3600),
        );
        let jwks = Authenticator::from_settings(&settings).await.unwrap();

        write_jwks(&path, vec![rsa_jwk("k1"), rsa_jwk("k2")]);
        let first_refresh = jwks.authenticate(&rs256(&claims(), Some("k2"))).await;
        write_jwks(&path, vec![rsa_jwk("k1"), rsa_jwk("k2"), rsa_jwk("k3")]);
        let within_window = jwks.authenticate(&rs256(&claims(), Some("k3"))).await;

        assert!(first_refresh.is_ok());
        assert_eq!(within_window, Err(AuthError::UnknownKey));
    }

    #[tokio::test]
    async fn a_jwks_is_fetched_over_http() {
        let dir = tempfile::tempdir().unwrap();
        let body = serde_json::to_string(&JwkSet {
            keys: vec![rsa_jwk("k1")],
        })
        .unwrap();
        let url = serve_once(body);
        let settings = jwks_settings(dir.path(), &url, Duration::from_secs(60));

        let jwks = Authenticator::from_settings(&settings).await.unwrap();

        assert!(
            jwks.authenticate(&rs256(&claims(), Some("k1")))
                .await
                .is_ok()
        );
        assert!(jwks.describe().contains(&url));
    }

    #[tokio::test]
    async fn start_up_fails_clearly_when_the_jwks_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let settings = jwks_settings(dir.path(), "http://127.0.0.1:9/jwks.json", Duration::ZERO);

        let result = Authenticator::from_settings(&settings).await;

        assert!(matches!(result, Err(AuthSetupError::JwksFetch { .. })));
    }

    #[tokio::test]
    async fn start_up_fails_clearly_when_the_jwks_is_not_valid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, "<html>not a key set</html>").unwrap();
        let settings = jwks_settings(dir.path(), path.to_str().unwrap(), Duration::ZERO);

        let result = Authenticator::from_settings(&settings).await;

        assert!(matches!(result, Err(AuthSetupError::JwksInvalid { .. })));
    }

    #[tokio::test]
    async fn start_up_fails_when_the_jwks_file_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let settings = jwks_settings(dir.path(), "file:///nonexistent/jwks.json", Duration::ZERO);

        let result = Authenticator::from_settings(&settings).await;

        assert!(matches!(result, Err(AuthSetupError::JwksRead { .. })));
    }

    #[tokio::test]
    async fn an_unsupported_jwks_scheme_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let settings = jwks_settings(dir.path(), "ftp://idp/jwks.json", Duration::ZERO);

        let result = Authenticator::from_settings(&settings).await;

        assert!(matches!(result, Err(AuthSetupError::JwksLocation(_))));
    }

    #[tokio::test]
    async fn configuring_both_a_secret_and_a_jwks_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let settings = AuthSettings {
            jwks_url: Some("https://idp.example.test/jwks".to_owned()),
            ..settings(dir.path())
        };

        let result = Authenticator::from_settings(&settings).await;

        assert!(matches!(result, Err(AuthSetupError::AmbiguousKeys)));
    }

    #[tokio::test]
    async fn an_empty_issuer_is_refused_at_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let settings = AuthSettings {
            issuer: " ".to_owned(),
            ..settings(dir.path())
        };

        let result = Authenticator::from_settings(&settings).await;

        assert!(matches!(
            result,
            Err(AuthSetupError::EmptySetting("issuer"))
        ));
    }

    #[test]
    fn a_configured_secret_shorter_than_32_bytes_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let settings = AuthSettings {
            jwt_secret: Some("too-short".to_owned()),
            ..settings(dir.path())
        };

        let result = local_secret(&settings);

        assert!(matches!(
            result,
            Err(AuthSetupError::Secret(SecretError::TooShort { len: 9, .. }))
        ));
    }

    #[tokio::test]
    async fn a_secret_is_generated_into_the_data_dir_on_first_use_and_reused_after() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let settings = AuthSettings {
            jwt_secret: None,
            ..settings(&data_dir)
        };
        let path = data_dir.join("jwt-secret");

        let first = local_secret(&settings).unwrap();
        let second = local_secret(&settings).unwrap();
        let server = Authenticator::from_settings(&settings).await.unwrap();
        let token = mint_token(&first, &settings, &mint_claims()).unwrap();

        assert_eq!(first, second);
        assert_eq!(first, std::fs::read(&path).unwrap());
        assert_eq!(first.len(), 64);
        assert!(first.iter().all(u8::is_ascii_hexdigit));
        assert!(server.authenticate(&token).await.is_ok());
        assert!(server.describe().contains("read from"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_secret_file_with_a_trailing_newline_gives_the_same_secret_as_the_env_var() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jwt-secret"), format!("{SECRET}\n")).unwrap();
        let settings = AuthSettings {
            jwt_secret: None,
            ..settings(dir.path())
        };

        assert_eq!(local_secret(&settings).unwrap(), SECRET.as_bytes());
    }

    #[test]
    fn there_is_no_local_secret_when_tokens_come_from_a_jwks() {
        let dir = tempfile::tempdir().unwrap();
        let settings = jwks_settings(dir.path(), "https://idp.example.test/jwks", Duration::ZERO);

        assert!(matches!(
            local_secret(&settings),
            Err(AuthSetupError::NoLocalSecret)
        ));
    }

    #[tokio::test]
    async fn describe_names_the_set_up_but_never_the_secret() {
        let dir = tempfile::tempdir().unwrap();

        let description = shared_authenticator(dir.path()).await.describe();

        assert!(description.contains("HS256"));
        assert!(description.contains(ISSUER));
        assert!(description.contains(AUDIENCE));
        assert!(!description.contains(SECRET));
        assert!(!format!("{:?}", settings(dir.path())).contains(SECRET));
    }

    #[test]
    fn bearer_token_accepts_the_bearer_scheme_in_any_case() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token("bearer x"), Some("x"));
        assert_eq!(bearer_token("BEARER  x "), Some("x"));
    }

    #[test]
    fn bearer_token_refuses_other_schemes_and_empty_tokens() {
        assert_eq!(bearer_token("Basic x"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearerx"), None);
        assert_eq!(bearer_token("Bearer x y"), None);
        assert_eq!(bearer_token(""), None);
    }

    #[test]
    fn parse_ttl_reads_units_and_plain_seconds() {
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(2 * 86400)));
        assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn parse_ttl_refuses_malformed_zero_and_overflowing_values() {
        for raw in [
            "",
            "h",
            "8x",
            "-5s",
            "+5s",
            "1.5h",
            "8 h",
            "0",
            "0s",
            "99999999999999999999d",
        ] {
            assert!(parse_ttl(raw).is_err(), "{raw:?} should be refused");
        }
        assert!(parse_ttl("300000000000000000d").is_err());
    }

    #[test]
    fn refusal_texts_are_safe_to_show_to_clients() {
        assert_eq!(AuthError::Expired.to_string(), "token expired");
        assert_eq!(AuthError::Invalid.to_string(), "token not valid");
        assert_eq!(AuthError::UnknownKey.to_string(), "unknown signing key");
    }
}
