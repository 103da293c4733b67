//! The floor: one ConverseStream read with the Rust SDK alone, no Python anywhere.
//!
//! `bench/floor.py` runs this against the same FakeBedrock process as the Python clients and
//! reports fastconverse's CPU per event as a multiple of this figure. The loop does the least
//! a reader can do: take each event from the SDK's receiver and count the characters of each
//! text delta (the Python loops touch every delta's text too).
//!
//!     cargo build --release --example sdk_floor
//!     target/release/examples/sdk_floor URL WORDS [THREADS]
//!
//! THREADS 0 (the default) runs on a current-thread runtime; N > 0 on a multi-thread runtime
//! with N workers, the reading task spawned on it as fastconverse's pump is. Prints one JSON
//! line: events, deltas, chars, cpu_s (CLOCK_PROCESS_CPUTIME_ID, all threads), wall_s.

use std::time::Instant;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput, Message,
};

const MODEL: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";

fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[derive(Default)]
struct Tally {
    events: u64,
    deltas: u64,
    chars: u64,
}

async fn stream_once(client: &aws_sdk_bedrockruntime::Client, words: usize) -> Tally {
    let text = vec!["w"; words].join(" ");
    let message = Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text))
        .build()
        .expect("a valid message");
    let out = client
        .converse_stream()
        .model_id(MODEL)
        .messages(message)
        .send()
        .await
        .expect("the stream starts");
    let mut receiver = out.stream;
    let mut tally = Tally::default();
    while let Some(event) = receiver.recv().await.expect("no stream error") {
        tally.events += 1;
        if let ConverseStreamOutput::ContentBlockDelta(d) = &event {
            if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                tally.deltas += 1;
                tally.chars += t.chars().count() as u64;
            }
        }
    }
    tally
}

fn check(tally: &Tally, words: usize, what: &str) {
    // FakeBedrock's default model answers "You said: <message>", one delta per word.
    let text_len = "You said: ".len() + words * 2 - 1;
    let want = (words as u64 + 2, words as u64 + 6, text_len as u64);
    let got = (tally.deltas, tally.events, tally.chars);
    assert_eq!(got, want, "{what}: (deltas, events, chars)");
}

async fn run(url: String, words: usize) {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new("test", "test", None, None, "floor"))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let client = aws_sdk_bedrockruntime::Client::new(&config);
    check(&stream_once(&client, 3).await, 3, "warm-up");
    let (cpu0, wall0) = (process_cpu_seconds(), Instant::now());
    let tally = stream_once(&client, words).await;
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds() - cpu0;
    check(&tally, words, "floor");
    println!(
        "{{\"events\": {}, \"deltas\": {}, \"chars\": {}, \"cpu_s\": {cpu:.6}, \"wall_s\": {wall:.6}}}",
        tally.events, tally.deltas, tally.chars
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: sdk_floor URL WORDS [THREADS]";
    let url = args.next().expect(usage);
    let words: usize = args.next().expect(usage).parse().expect(usage);
    let threads: usize = args.next().map_or(0, |t| t.parse().expect(usage));
    let runtime = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .expect("a tokio runtime");
    if threads == 0 {
        runtime.block_on(run(url, words));
    } else {
        // The reading task on a worker, as fastconverse's pump.
        runtime
            .block_on(runtime.spawn(run(url, words)))
            .expect("the task ends");
    }
}
