//! Serves fixed response bodies from memory: `baseline ADDR ROUTES_TSV`,
//! where each line of the TSV is `path-and-query<TAB>body-file<TAB>content-type`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

type Routes = Arc<HashMap<String, (Bytes, HeaderValue)>>;

async fn serve(State(routes): State<Routes>, request: Request) -> Response {
    let key = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    match routes.get(key) {
        Some((body, content_type)) => ([(header::CONTENT_TYPE, content_type.clone())], body.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().expect("usage: baseline ADDR ROUTES_TSV");
    let table = std::fs::read_to_string(args.next().expect("usage: baseline ADDR ROUTES_TSV")).expect("routes file");
    let mut routes = HashMap::new();
    for line in table.lines().filter(|l| !l.is_empty()) {
        let mut fields = line.split('\t');
        let (path, file, content_type) = (fields.next().unwrap(), fields.next().unwrap(), fields.next().unwrap_or("application/json"));
        let body = Bytes::from(std::fs::read(file).expect("body file"));
        routes.insert(path.to_owned(), (body, HeaderValue::from_str(content_type).expect("content type")));
    }
    let app = Router::new().fallback(serve).with_state(Arc::new(routes));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
