//! The inbound room: the HTTP side the HTTP functions share. Reading an API Gateway
//! request within limits, the `Idempotency-Key` wrapper, [`Problem`] (the one place that
//! decides an error's status and `Retry-After`), writing answers, and [`serve`], the one
//! entry each handler calls with its routes and its use case. Wire shapes stay in each
//! function's `contract.rs`; the rules stay in `service` and `domain`.

mod idempotency;
mod problem;
mod request;
mod response;

use std::future::Future;

use lambda_http::{Body, Request, Response};

pub use idempotency::{HEADER as IDEMPOTENCY_KEY, REPLAYED};
pub use problem::{chain, Kind, Problem};
pub use request::{
    authorization_credential, query_param, read_body, requested_locale, single_header, source_ip,
    Accepts, BodyError, MAX_BODY_BYTES,
};
pub use response::{ok, ok_json, problem, problem_json, status_json, to_json, JSON};

use crate::ports::{Clock, DeliveryQueue, Metrics, RandomSource, Store};
use crate::service::{Endpoint, Refusal, Resetkit};

/// What a function serves, for [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub endpoint: Endpoint,
    /// The (method, path) pairs the function answers; any other path is 404, any other
    /// method on one of them 405.
    pub routes: &'a [(&'a str, &'a str)],
    /// The credential an `Idempotency-Key` is scoped to.
    pub scope: &'a str,
}

/// Answers `req`: checks the route, runs `admit` (authentication, the key's state, the
/// address and key limits), then `use_case` with what `admit` let in, under the request's
/// `Idempotency-Key`, and renders the outcome with the contract's `render`. Every outcome
/// is a response.
///
/// Admission comes first, on every request, replays included: a key revoked after its
/// first call gets 401, not that call's stored answer (a staff code, say), and a refused or
/// limited request costs no idempotency writes.
pub async fn serve<S, N, C, R, M, A, T, E, AFut, Fut>(
    svc: &Resetkit<S, N, C, R, M>,
    req: &Request,
    entry: Entry<'_>,
    render: impl Fn(Result<T, E>) -> Response<Body>,
    admit: impl FnOnce() -> AFut,
    use_case: impl FnOnce(A) -> Fut,
) -> Response<Body>
where
    S: Store,
    N: DeliveryQueue,
    C: Clock,
    R: RandomSource,
    M: Metrics,
    AFut: Future<Output = Result<A, E>>,
    Fut: Future<Output = Result<T, E>>,
    E: From<Problem> + From<Refusal>,
{
    if let Err(problem) = route(req, entry.routes) {
        return render(Err(problem.into()));
    }
    let admitted = match admit().await {
        Ok(admitted) => admitted,
        Err(refused) => return render(Err(refused)),
    };
    let run = || async { render(use_case(admitted).await) };
    let refuse = |refusal: Refusal| render(Err(refusal.into()));
    idempotency::guard(svc, req, entry.endpoint, entry.scope, refuse, run).await
}

/// Is `req` for one of `routes`? A trailing slash is ignored.
fn route(req: &Request, routes: &[(&str, &str)]) -> Result<(), Problem> {
    let path = req.uri().path().trim_end_matches('/');
    let mut methods = routes
        .iter()
        .filter(|&&(_, route)| matches_route(route, path))
        .map(|&(method, _)| method)
        .peekable();
    let Some(&allowed) = methods.peek() else {
        return Err(Problem::no_such_endpoint());
    };
    if methods.any(|method| method == req.method().as_str()) {
        Ok(())
    } else {
        Err(Problem::method_not_allowed(format!("Use {allowed}")))
    }
}

/// Whether `path` is `route`, where a `{name}` segment of the route (API Gateway's path
/// parameter) stands for any one non-empty segment.
pub fn matches_route(route: &str, path: &str) -> bool {
    let (mut want, mut got) = (route.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::http_request;

    const ROUTES: &[(&str, &str)] = &[("POST", "/a/b"), ("GET", "/page"), ("PUT", "/p/{id}")];

    #[test]
    fn a_path_parameter_is_one_non_empty_segment() {
        assert!(matches_route("/p/{id}", "/p/42"));
        assert!(!matches_route("/p/{id}", "/p/"));
        assert!(!matches_route("/p/{id}", "/p"));
        assert!(!matches_route("/p/{id}", "/p/42/x"));
        assert!(!matches_route("/p/{id}", "/q/42"));
        let at = |method, path| route(&http_request(method, path, &[], ""), ROUTES);
        assert_eq!(at("PUT", "/p/42"), Ok(()));
        assert_eq!(
            at("GET", "/p/42"),
            Err(Problem::method_not_allowed("Use PUT"))
        );
    }

    #[test]
    fn a_route_is_its_path_and_method_with_or_without_a_trailing_slash() {
        let at = |method, path| route(&http_request(method, path, &[], ""), ROUTES);
        assert_eq!(at("POST", "/a/b"), Ok(()));
        assert_eq!(at("POST", "/a/b/"), Ok(()));
        assert_eq!(at("GET", "/page"), Ok(()));
        assert_eq!(at("POST", "/a"), Err(Problem::no_such_endpoint()));
        assert_eq!(
            at("GET", "/a/b"),
            Err(Problem::method_not_allowed("Use POST"))
        );
    }
}
