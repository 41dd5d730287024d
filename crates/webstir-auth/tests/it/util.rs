//! Shared helpers: token minting (any header, any claims), RSA keys, a counting JWKS server,
//! a log capture.

// Without the `jwt` feature most helpers (RSA keys, the JWKS server…) have no user.
#![cfg_attr(not(feature = "jwt"), allow(dead_code, unused_imports))]

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hmac::{Hmac, Mac as _};
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// An HS256 secret of the required length.
pub(crate) const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// The configured leeway in these tests (the default).
pub(crate) const LEEWAY: i64 = 30;

pub(crate) fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs(),
    )
    .expect("fits")
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload` with both parts JSON-encoded as given (no normalisation).
pub(crate) fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(claims.to_string()))
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Signs any header/claims with HMAC-SHA-256.
pub(crate) fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let sig = hmac_sha256(secret, input.as_bytes());
    format!("{input}.{}", b64(sig))
}

/// Signs any header/claims with RSASSA-PKCS1-v1_5 SHA-256.
pub(crate) fn rs256(header: &Value, claims: &Value, key: &RsaPrivateKey) -> String {
    let input = signing_input(header, claims);
    let signer = SigningKey::<Sha256>::new(key.clone());
    let sig = signer.sign(input.as_bytes()).to_vec();
    format!("{input}.{}", b64(sig))
}

/// Standard valid claims: `sub`, `exp` in one hour, plus `extra`.
pub(crate) fn claims(extra: Value) -> Value {
    let mut base = json!({ "sub": "user-1", "iat": now(), "exp": now() + 3600 });
    if let (Value::Object(base), Value::Object(extra)) = (&mut base, extra) {
        for (k, v) in extra {
            if v.is_null() {
                base.remove(&k);
            } else {
                base.insert(k, v);
            }
        }
    }
    base
}

pub(crate) fn hs_header() -> Value {
    json!({ "alg": "HS256", "typ": "JWT" })
}

pub(crate) fn rs_header(kid: Option<&str>) -> Value {
    match kid {
        Some(kid) => json!({ "alg": "RS256", "typ": "JWT", "kid": kid }),
        None => json!({ "alg": "RS256", "typ": "JWT" }),
    }
}

/// Two 2048-bit keys, generated once per test binary.
pub(crate) fn rsa_key(index: usize) -> &'static RsaPrivateKey {
    static KEYS: OnceLock<Vec<RsaPrivateKey>> = OnceLock::new();
    &KEYS.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        (0..2)
            .map(|_| RsaPrivateKey::new(&mut rng, 2048).expect("rsa keygen"))
            .collect()
    })[index]
}

pub(crate) fn public_pem(key: &RsaPrivateKey) -> String {
    RsaPublicKey::from(key)
        .to_public_key_pem(LineEnding::LF)
        .expect("pem")
}

pub(crate) fn public_jwk(key: &RsaPrivateKey, kid: Option<&str>) -> Value {
    let public = RsaPublicKey::from(key);
    let mut jwk = json!({
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "n": b64(public.n().to_bytes_be()),
        "e": b64(public.e().to_bytes_be()),
    });
    if let Some(kid) = kid {
        jwk["kid"] = json!(kid);
    }
    jwk
}

pub(crate) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    map
}

pub(crate) fn bearer(token: &str) -> HeaderMap {
    headers(&[("authorization", &format!("Bearer {token}"))])
}

/// How the test JWKS server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Serve,
    Fail,
    Hang,
}

#[derive(Debug)]
struct ServerState {
    keys: Vec<Value>,
    mode: Mode,
    cache_control: Option<String>,
}

/// A JWKS server on 127.0.0.1:0 that counts its requests.
#[derive(Debug, Clone)]
pub(crate) struct JwksServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    state: Arc<Mutex<ServerState>>,
}

impl JwksServer {
    pub(crate) async fn start(keys: Vec<Value>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server = Self {
            addr: listener.local_addr().expect("addr"),
            hits: Arc::new(AtomicUsize::new(0)),
            state: Arc::new(Mutex::new(ServerState {
                keys,
                mode: Mode::Serve,
                cache_control: None,
            })),
        };
        let this = server.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let this = this.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_req| {
                        let this = this.clone();
                        async move { Ok::<_, Infallible>(this.respond().await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        server
    }

    async fn respond(&self) -> Response<Full<Bytes>> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        let (mode, body, cache_control) = {
            let state = self.state.lock().expect("lock");
            (
                state.mode,
                json!({ "keys": state.keys }).to_string(),
                state.cache_control.clone(),
            )
        };
        match mode {
            Mode::Serve => {}
            Mode::Fail => {
                return Response::builder()
                    .status(500)
                    .body(Full::new(Bytes::from_static(b"down")))
                    .expect("response");
            }
            Mode::Hang => tokio::time::sleep(Duration::from_secs(10)).await,
        }
        let mut response = Response::builder()
            .status(200)
            .header("content-type", "application/json");
        if let Some(cc) = cache_control {
            response = response.header("cache-control", cc);
        }
        response
            .body(Full::new(Bytes::from(body)))
            .expect("response")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.addr)
    }

    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub(crate) fn set_keys(&self, keys: Vec<Value>) {
        self.state.lock().expect("lock").keys = keys;
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        self.state.lock().expect("lock").mode = mode;
    }

    pub(crate) fn set_cache_control(&self, value: &str) {
        self.state.lock().expect("lock").cache_control = Some(value.to_owned());
    }
}

/// Collects everything a `fmt` subscriber writes.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub(crate) fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs a JSON subscriber (all levels) writing into a buffer, for the current thread.
pub(crate) fn capture_logs() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
    let buffer = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buffer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (buffer, guard)
}
