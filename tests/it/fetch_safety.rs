use std::io::Write;
use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).expect("compress");
    e.finish().expect("compress")
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_bodies_and_gzip_bombs_stop_at_the_cap() {
    let server = MockServer::start().await;
    // 2 MiB of plain body against a 1 MiB cap.
    let big = format!("<rss version=\"2.0\"><channel>{}</channel></rss>", " ".repeat(2 << 20));
    serve(&server, "/big.xml", &big, "application/rss+xml").await;
    // ~50 KiB on the wire, 64 MiB decompressed.
    let bomb = gzip(&vec![b' '; 64 << 20]);
    assert!(bomb.len() < 200_000);
    Mock::given(method("GET"))
        .and(path("/bomb.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(bomb, "application/rss+xml"),
        )
        .mount(&server)
        .await;
    // A well-behaved gzip feed still works.
    Mock::given(method("GET"))
        .and(path("/gz.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(gzip(fixture("feeds/rss2.xml").as_bytes()), "application/rss+xml"),
        )
        .mount(&server)
        .await;
    let u = server.uri();
    let env = TestEnv::with_fetch(
        "max_body = \"1MiB\"",
        &[
            feed_toml(&format!("{u}/big.xml"), "big"),
            feed_toml(&format!("{u}/bomb.xml"), "bomb"),
            feed_toml(&format!("{u}/gz.xml"), "gz"),
        ]
        .concat(),
    );
    let summary = env.run_once().await;
    let c = summary_counts(&summary);
    assert_eq!((c["ok"], c["failed"], c["new"]), (1, 2, 3), "{summary}");
    for route in ["/big.xml", "/bomb.xml"] {
        let h = env.feed_health(&format!("{u}{route}")).await;
        assert_eq!(h.last_error_kind.as_deref(), Some("too_large"), "{route}: {h:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_server_times_out_without_holding_up_the_others() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/slow.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(10))
                .set_body_string(fixture("feeds/rss2.xml")),
        )
        .mount(&server)
        .await;
    serve(&server, "/atom.xml", &fixture("feeds/atom.xml"), "application/atom+xml").await;
    let u = server.uri();
    let env = TestEnv::with_fetch(
        "timeout = \"1s\"",
        &[feed_toml(&format!("{u}/slow.xml"), "slow"), feed_toml(&format!("{u}/atom.xml"), "atom")].concat(),
    );
    let summary = env.run_once().await;
    let c = summary_counts(&summary);
    assert_eq!((c["ok"], c["failed"]), (1, 1), "{summary}");
    let h = env.feed_health(&format!("{u}/slow.xml")).await;
    assert_eq!(h.last_error_kind.as_deref(), Some("timeout"), "{h:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_feeds_are_refused_unless_allowed() {
    let server = MockServer::start().await;
    serve(&server, "/rss.xml", &fixture("feeds/rss2.xml"), "application/rss+xml").await;
    let u = server.uri();
    let localhost = u.replace("127.0.0.1", "localhost");
    let env = TestEnv::new(&format!(
        "[[feeds]]\nurl = \"{u}/rss.xml\"\nallow_private = false\n\
         [[feeds]]\nurl = \"{localhost}/rss.xml\"\nallow_private = false\n\
         [[feeds]]\nurl = \"{u}/rss.xml?allowed\"\n"
    ));
    let summary = env.run_once().await;
    let c = summary_counts(&summary);
    assert_eq!((c["ok"], c["failed"]), (1, 2), "{summary}");
    for url in [format!("{u}/rss.xml"), format!("{localhost}/rss.xml")] {
        let h = env.feed_health(&url).await;
        assert_eq!(h.last_error_kind.as_deref(), Some("blocked"), "{url}: {h:?}");
    }
}
