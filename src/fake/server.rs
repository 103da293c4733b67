//! FakeBedrock's HTTP/1.1 server (hyper), routing and response bodies.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Sleep;

use super::auth;
use super::script::{EventCursor, HttpError};
use super::state::{validation, FakeConfig, Outcome, RecordedRequest, State};

/// A running FakeBedrock. Dropping it stops the server and closes its connections.
pub struct FakeServer {
    state: Arc<State>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    /// Signalled by the accept loop once the listener and every connection are closed.
    stopped: Mutex<Option<mpsc::Receiver<()>>>,
}

/// A listening socket on `addr` with a deep accept queue: thousands of clients may connect
/// at once (bench/many_streams.py), and the standard library's `bind` queues only 128.
fn listen(addr: SocketAddr, runtime: &tokio::runtime::Handle) -> io::Result<TcpListener> {
    let _guard = runtime.enter();
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // Note: as the standard library does on Unix, so that a restarted server can bind again.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

impl FakeServer {
    /// Binds `host:port` (port 0: a free one) and serves on `runtime`'s threads.
    pub fn start(
        config: FakeConfig,
        host: &str,
        port: u16,
        runtime: &tokio::runtime::Handle,
    ) -> io::Result<Self> {
        use std::net::ToSocketAddrs;
        let mut last = None;
        let mut bound = None;
        for addr in (host, port).to_socket_addrs()? {
            match listen(addr, runtime) {
                Ok(listener) => {
                    bound = Some(listener);
                    break;
                }
                Err(err) => last = Some(err),
            }
        }
        let listener = bound.ok_or_else(|| {
            last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))
        })?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(config));
        let (shutdown, stop) = watch::channel(false);
        let (done, stopped) = mpsc::channel();
        runtime.spawn(accept_loop(listener, state.clone(), stop, done));
        Ok(Self {
            state,
            addr,
            shutdown,
            stopped: Mutex::new(Some(stopped)),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Asks the server to stop accepting and to drop every open connection, without waiting.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Stops the server and waits (at most `timeout`) until its port and connections are
    /// closed, so that no request is answered after this returns. Idempotent. Must not be
    /// called from one of the runtime's own threads.
    pub fn stop_and_wait(&self, timeout: Duration) {
        self.stop();
        if let Some(stopped) = self.stopped.lock().unwrap().take() {
            let _ = stopped.recv_timeout(timeout);
        }
    }

    pub fn is_stopped(&self) -> bool {
        *self.shutdown.borrow()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors or a reset before accept: keep serving the others.
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    drop(listener);
    // Aborting a connection's task drops its socket: the client sees the connection close.
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    let _ = done.send(());
}

/// The operation a path names, and its decoded model id.
fn route(path: &str) -> (String, Option<String>) {
    // Note: split the raw path first and decode each segment after, so that a `%2F` inside
    // an ARN stays inside the model id (WIRE.md).
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["model", model, op] => {
            let model = percent_decode_str(model).decode_utf8_lossy().into_owned();
            let operation = match *op {
                "converse" => "Converse",
                "converse-stream" => "ConverseStream",
                "count-tokens" => "CountTokens",
                "invoke" => "InvokeModel",
                "invoke-with-response-stream" => "InvokeModelWithResponseStream",
                other => other,
            };
            (operation.to_owned(), Some(model))
        }
        _ => (segments.last().copied().unwrap_or("").to_owned(), None),
    }
}

type Resp = Response<FakeBody>;

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Resp, io::Error> {
    let request_id = state.next_request_id();
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Err(io::Error::other(e)),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    let (operation, model_id) = route(parts.uri.path());
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    state.record(RecordedRequest {
        operation: operation.clone(),
        model_id: model_id.clone(),
        method: parts.method.to_string(),
        path: path_and_query.clone(),
        body: json.clone().unwrap_or(Value::Null),
        raw_body: body.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        request_id: request_id.clone(),
    });

    if let Err(denied) = auth::check(
        &state.config.auth,
        parts.method.as_str(),
        &path_and_query,
        &parts.headers,
        &body,
    ) {
        return Ok(error_response(&denied, &request_id));
    }
    let (Some(model_id), true) = (model_id, parts.method == http::Method::POST) else {
        return Ok(error_response(&unknown_operation(), &request_id));
    };
    let Some(json) = json else {
        return Ok(error_response(
            &validation("Malformed input request, please reformat your input and try again."),
            &request_id,
        ));
    };
    let (outcome, delay) = match operation.as_str() {
        "Converse" => state.converse(&model_id, &json, false),
        "ConverseStream" => state.converse(&model_id, &json, true),
        "CountTokens" => (state.count_tokens(&model_id, &json), Duration::ZERO),
        "InvokeModel" => state.invoke(&model_id, &json, false, &request_id),
        "InvokeModelWithResponseStream" => state.invoke(&model_id, &json, true, &request_id),
        _ => (Outcome::Error(unknown_operation()), Duration::ZERO),
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match outcome {
        Outcome::Json(value) => Ok(json_response(StatusCode::OK, &value, &request_id)),
        Outcome::Error(err) => Ok(error_response(&err, &request_id)),
        Outcome::Stream(cursor) => Ok(stream_response(cursor, &request_id)),
        // Returning an error makes hyper close the connection without a response.
        Outcome::Disconnect => Err(io::Error::other("scripted disconnect")),
    }
}

fn unknown_operation() -> HttpError {
    HttpError {
        code: "UnknownOperationException".into(),
        status: 404,
        message:
            "FakeBedrock serves POST /model/{modelId}/converse, /converse-stream, /count-tokens, /invoke and /invoke-with-response-stream."
                .into(),
        extra: Default::default(),
    }
}

fn base_response(
    status: StatusCode,
    request_id: &str,
    content_type: &'static str,
    body: FakeBody,
) -> Resp {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    resp
}

fn json_response(status: StatusCode, value: &Value, request_id: &str) -> Resp {
    let bytes = serde_json::to_vec(value).expect("JSON always serializes");
    base_response(
        status,
        request_id,
        "application/json",
        FakeBody::full(bytes.into()),
    )
}

fn error_response(err: &HttpError, request_id: &str) -> Resp {
    let mut body = serde_json::Map::new();
    body.insert("message".into(), Value::String(err.message.clone()));
    body.extend(err.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = json_response(status, &Value::Object(body), request_id);
    let error_type = format!(
        "{}:http://internal.amazon.com/coral/com.amazon.bedrock/",
        err.code
    );
    if let Ok(value) = HeaderValue::from_str(&error_type) {
        resp.headers_mut().insert("x-amzn-errortype", value);
    }
    resp
}

fn stream_response(cursor: Box<EventCursor>, request_id: &str) -> Resp {
    let delta_delay = cursor.turn().delta_delay;
    base_response(
        StatusCode::OK,
        request_id,
        "application/vnd.amazon.eventstream",
        FakeBody::Stream(Box::new(StreamBody {
            cursor,
            delta_delay,
            sleep: None,
            slept: false,
            disconnect_armed: false,
            failed: false,
        })),
    )
}

/// Response bodies: a whole JSON document, or a stream of event frames.
pub enum FakeBody {
    Full(Option<Bytes>),
    Stream(Box<StreamBody>),
}

impl FakeBody {
    fn full(bytes: Bytes) -> Self {
        FakeBody::Full(Some(bytes))
    }
}

/// Writes a scripted turn's frames as the client reads them: in batches of up to 32 KiB
/// when there is no delay, one delta at a time when there is.
pub struct StreamBody {
    cursor: Box<EventCursor>,
    delta_delay: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The delay before the next delta has been waited for already.
    slept: bool,
    /// A scripted disconnect happens at the next poll.
    disconnect_armed: bool,
    failed: bool,
}

const BATCH: usize = 32 * 1024;

impl Body for FakeBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            FakeBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            FakeBody::Stream(body) => body.poll_next(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            FakeBody::Full(bytes) => bytes.is_none(),
            FakeBody::Stream(body) => body.cursor.is_done() && !body.failed,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            FakeBody::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            FakeBody::Full(None) => SizeHint::with_exact(0),
            FakeBody::Stream(_) => SizeHint::default(),
        }
    }
}

impl StreamBody {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            ready!(sleep.as_mut().poll(cx));
            self.sleep = None;
            self.slept = true;
        }
        if self.failed {
            return Poll::Ready(None);
        }
        if self.disconnect_armed {
            self.failed = true;
            // hyper aborts the connection: the client sees the body end early.
            return Poll::Ready(Some(Err(io::Error::other("scripted disconnect"))));
        }
        let mut buf = BytesMut::with_capacity(if self.delta_delay.is_zero() {
            BATCH + 1024
        } else {
            512
        });
        while buf.len() < BATCH && !self.cursor.is_done() {
            if self.cursor.disconnect_due() {
                if buf.is_empty() {
                    // Note: hyper drops unflushed bytes when a body fails, so first wait a
                    // moment (hyper flushes while we are pending), then fail.
                    self.disconnect_armed = true;
                    let mut sleep = Box::pin(tokio::time::sleep(Duration::from_millis(20)));
                    if sleep.as_mut().poll(cx).is_pending() {
                        self.sleep = Some(sleep);
                        return Poll::Pending;
                    }
                    return self.poll_next(cx);
                }
                break;
            }
            if self.cursor.write_exception_if_due(&mut buf) {
                break;
            }
            if !self.delta_delay.is_zero() && self.cursor.next_is_delta() {
                if !self.slept {
                    if buf.is_empty() {
                        let mut sleep = Box::pin(tokio::time::sleep(self.delta_delay));
                        if sleep.as_mut().poll(cx).is_pending() {
                            self.sleep = Some(sleep);
                            return Poll::Pending;
                        }
                    } else {
                        break;
                    }
                }
                self.slept = false;
            }
            self.cursor.write_next(&mut buf);
        }
        if buf.is_empty() {
            return Poll::Ready(None);
        }
        Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
    }
}
