use super::*;
use std::time::Duration;

/// A reading that returns how many readings had started when it started.
fn counting(started: Arc<AtomicU64>) -> Watermark {
    Watermark::read_by(Box::new(move || {
        let started = Arc::clone(&started);
        Box::pin(async move {
            let n = started.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
            Some(n as i64)
        })
    }))
}

#[tokio::test]
async fn no_request_gets_a_reading_that_started_before_it_arrived() {
    let started = Arc::new(AtomicU64::new(0));
    let w = Arc::new(counting(Arc::clone(&started)));
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let (w, started) = (Arc::clone(&w), Arc::clone(&started));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_micros(i * 150)).await;
            let before = started.load(Ordering::SeqCst) as i64;
            let got = w.settled().await.expect("a reading");
            assert!(got > before, "arrived after reading {before} began, got reading {got}");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let readings = started.load(Ordering::SeqCst);
    assert!(
        readings < 200,
        "requests that queued together shared a reading ({readings} readings)"
    );
}

#[tokio::test]
async fn one_request_alone_reads_for_itself_each_time() {
    let started = Arc::new(AtomicU64::new(0));
    let w = counting(Arc::clone(&started));
    assert_eq!(w.settled().await, Some(1));
    assert_eq!(w.settled().await, Some(2));
}

#[tokio::test]
async fn a_failed_reading_says_so_and_the_next_request_reads_again() {
    let calls = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&calls);
    let w = Watermark::read_by(Box::new(move || {
        let n = c.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { (n > 0).then_some(7) })
    }));
    assert_eq!(w.settled().await, None);
    assert_eq!(w.settled().await, Some(7));
}
