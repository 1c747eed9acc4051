//! The three functions served over loopback HTTP on an emulator-backed stack, for clients
//! that speak HTTP (schemathesis, a browser): API Gateway's routes (`/v1/guests/password`, …)
//! and `cargo lambda watch`'s `/lambda-url/<function>/<path>` both reach the same handlers.
//! Each request carries API Gateway's request context with the client's address as
//! `sourceIp`, so the per-address limit runs here as it does behind API Gateway.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use tokio::net::TcpListener;

use crate::helpers::TestApp;

pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub app: Arc<TestApp>,
    /// Every request line and `Referer` the server received.
    pub seen: Arc<Mutex<Vec<String>>>,
    /// Every answer's path and status, in order.
    pub answers: Arc<Mutex<Vec<(String, u16)>>>,
}

/// Binds a loopback port, then builds the app with `app(base)` (so that its settings can
/// name the port) and serves it until the test ends.
pub async fn spawn<F, Fut>(app: F) -> Server
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let app = Arc::new(app(base.clone()).await);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let (app2, seen2, answers2) = (app.clone(), seen.clone(), answers.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                return;
            };
            let (app, seen, answers) = (app2.clone(), seen2.clone(), answers2.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let (app, seen, answers) = (app.clone(), seen.clone(), answers.clone());
                    async move {
                        let path = req.uri().path().to_owned();
                        let res = route(&app, &seen, peer, req).await;
                        answers.lock().unwrap().push((path, res.status().as_u16()));
                        Ok::<_, Infallible>(res)
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                // A client may drop a keep-alive connection at any time; that is no failure.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    Server {
        base,
        app,
        seen,
        answers,
    }
}

/// What API Gateway or `cargo lambda watch` does: picks the function, hands it the request
/// with the function's own path, and the answer back.
async fn route(
    app: &TestApp,
    seen: &Mutex<Vec<String>>,
    peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let referer = parts
        .headers
        .get("referer")
        .map(|v| v.to_str().unwrap_or("?").to_owned());
    seen.lock().unwrap().push(format!(
        "{} {} referer={referer:?}",
        parts.method, parts.uri
    ));
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return plain(400, "unreadable body"),
    };
    let path = parts.uri.path();
    let (function, path) = match path
        .strip_prefix("/lambda-url/")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((function, rest)) => (function.to_owned(), format!("/{rest}")),
        None => {
            let of = |routes: &[(&str, &str)]| {
                routes
                    .iter()
                    .any(|&(_, r)| resetkit::inbound::matches_route(r, path))
            };
            let function = if of(guest_reset::ROUTES) {
                "guest-reset"
            } else if of(forgot_password::ROUTES) {
                "forgot-password"
            } else if of(password_confirm::ROUTES) {
                "password-confirm"
            } else if of(people::ROUTES) {
                "people"
            } else {
                // API Gateway's own answer for an unrouted path.
                return plain(404, r#"{"message":"Not Found"}"#);
            };
            (function.to_owned(), path.to_owned())
        }
    };
    let uri = match parts.uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut builder = lambda_http::http::Request::builder()
        .method(parts.method.as_str())
        .uri(uri);
    for (name, value) in &parts.headers {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    let Ok(req) = builder.body(lambda_http::Body::from(body.to_vec())) else {
        return plain(400, r#"{"message":"Bad Request"}"#);
    };
    // API Gateway's HTTP API tells the function the TCP peer's address.
    let req = {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
        use lambda_http::request::RequestContext;
        use lambda_http::RequestExt;
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = Some(peer.ip().to_string());
        req.with_request_context(RequestContext::ApiGatewayV2(context))
    };
    let res = match function.as_str() {
        "guest-reset" => guest_reset::handle(&app.service, req).await,
        "forgot-password" => forgot_password::handle(&app.service, req).await,
        "password-confirm" => password_confirm::handle(&app.service, req).await,
        "people" => people::handle(&app.service, req).await,
        _ => return plain(404, r#"{"message":"Not Found"}"#),
    };
    // The courier delivers what the request queued before the client hears back, so that
    // a test reads the message right after the answer.
    app.deliver().await;
    // A handler's `Err` is what Lambda reports as a failed invocation: API Gateway's 500.
    let Ok(res) = res else {
        return plain(500, r#"{"message":"Internal Server Error"}"#);
    };
    let mut out = hyper::Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        out = out.header(name.as_str(), value.as_bytes());
    }
    out.body(Full::new(Bytes::copy_from_slice(res.body().as_ref())))
        .expect("a valid response")
}

fn plain(status: u16, text: &'static str) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .expect("a response")
}
