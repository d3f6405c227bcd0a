//! Logs (tracing, JSON when asked) and Prometheus metrics. Each server owns its
//! registry so that several servers in one test process do not collide.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

pub fn init_logging() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("COUNTERSIGN_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Fetches of the issuer's JWKS: startup, readiness, unknown `kid`s.
    pub jwks_fetches: IntCounter,
    /// Decisions per transaction (see batch): the group commit at work.
    pub decision_batch: Histogram,
    /// Staff lookups per statement (see principal::lookup_batch).
    pub lookup_batch: Histogram,
    /// Requests refused because their audit event could not be written.
    pub audit_write_failures: IntCounter,
    /// Notification streams open now (each polls until its client leaves).
    pub notification_streams: IntGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("countersign_http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )
        .expect("static metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("countersign_http_request_duration_seconds", "HTTP request latency")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["method", "route"],
        )
        .expect("static metric");
        let jwks_fetches = IntCounter::new("countersign_jwks_fetches_total", "Fetches of the issuer's signing keys")
            .expect("static metric");
        let decision_batch = Histogram::with_opts(
            HistogramOpts::new(
                "countersign_approval_decisions_per_transaction",
                "Approval decisions decided together in one transaction",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0]),
        )
        .expect("static metric");
        let lookup_batch = Histogram::with_opts(
            HistogramOpts::new(
                "countersign_staff_lookups_per_statement",
                "Requests' staff lookups read together in one statement",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        )
        .expect("static metric");
        let audit_write_failures = IntCounter::new(
            "countersign_audit_write_failures_total",
            "Requests answered 503 because their audit event could not be written",
        )
        .expect("static metric");
        registry
            .register(Box::new(audit_write_failures.clone()))
            .expect("unique metric");
        let notification_streams =
            IntGauge::new("countersign_notification_streams", "Notification streams open now").expect("static metric");
        registry
            .register(Box::new(notification_streams.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(decision_batch.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(lookup_batch.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(jwks_fetches.clone()))
            .expect("unique metric");
        registry.register(Box::new(requests.clone())).expect("unique metric");
        registry.register(Box::new(latency.clone())).expect("unique metric");
        Metrics {
            registry,
            requests,
            latency,
            jwks_fetches,
            decision_batch,
            lookup_batch,
            audit_write_failures,
            notification_streams,
        }
    }
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency.with_label_values(&[method, route]).observe(seconds);
    }
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
