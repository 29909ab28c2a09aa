//! A small but real SMTP server on loopback, so that the product's mail
//! client has a genuine SMTP conversation in tests: greeting, EHLO, the
//! envelope, DATA with dot-stuffing, and failures a real relay gives.
//! No TLS and no AUTH are advertised, so a client configured for plain
//! `smtp://` talks to it exactly as to a local relay.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// Advertised in EHLO and enforced, so a client that honours SIZE is tested
/// against it; large enough for any mail the product sends.
const MAX_MESSAGE_BYTES: usize = 20 * 1024 * 1024;
/// RFC 5321 allows 512 octets for a command line; some slack for clients
/// with long parameters, but a bound so a broken client cannot eat memory.
const MAX_COMMAND_BYTES: usize = 4096;
const MAX_RECIPIENTS: usize = 100;

pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (MAIL FROM), without angle brackets; empty for
    /// the null sender `<>`.
    #[allow(dead_code)] // Not every test cares who the envelope is from.
    pub from: String,
    /// The envelope recipients (RCPT TO) in the order given.
    pub to: Vec<String>,
    /// The message as received after undoing dot-stuffing, CRLF kept.
    pub data: String,
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<ReceivedMail>>,
    arrived: Notify,
    fail_next: AtomicUsize,
    reject_all: AtomicBool,
    queue_ids: AtomicU64,
    /// Milliseconds between keeping a message and answering its DATA.
    answer_delay_ms: AtomicU64,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink on loopback");
        let addr = listener.local_addr().expect("SMTP sink address");
        let shared = Arc::new(Shared::default());
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        SmtpSink {
            addr,
            shared,
            server,
        }
    }

    /// The next `n` DATA commands get `451 4.3.0 try again later`
    /// (transient), to test retries.
    #[allow(dead_code)] // Only the retry tests use it.
    pub fn fail_next(&self, n: usize) {
        self.shared.fail_next.store(n, Ordering::SeqCst);
    }

    /// Every DATA gets `550 5.1.1 mailbox unavailable` (permanent) while set.
    #[allow(dead_code)] // Only the permanent-failure tests use it.
    pub fn reject_all(&self, on: bool) {
        self.shared.reject_all.store(on, Ordering::SeqCst);
    }

    /// Keeps each message at once but answers its DATA only after
    /// `delay`, as a slow relay: a sender that dies in between never hears
    /// that the message was taken.
    #[allow(dead_code)] // Only the fault-injection tests use it.
    pub fn answer_after(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.answer_delay_ms.store(ms, Ordering::SeqCst);
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.messages).clone()
    }

    /// Waits until at least `n` messages arrived and returns them all. On
    /// timeout it returns what did arrive, so that a test can also assert
    /// that nothing more came.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before looking, so an arrival in between is not missed.
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            // The poll is a safety net in case a wake-up is ever lost.
            let poll = deadline.min(tokio::time::Instant::now() + Duration::from_millis(50));
            let _ = tokio::time::timeout_at(poll, arrived).await;
            if tokio::time::Instant::now() >= deadline {
                return self.messages();
            }
        }
    }

    /// `smtp://127.0.0.1:<port>`: plain SMTP, as a client URL expects it.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every
        // open connection too, so no test leaks a server into the next.
        self.server.abort();
    }
}

impl ReceivedMail {
    /// The first header field called `name` (case-insensitive) in the header
    /// section of `data`, unfolded and trimmed; encoded words stay encoded.
    pub fn header(data: &str, name: &str) -> Option<String> {
        let mut found: Option<String> = None;
        for line in data.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push_str(line);
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((field, value)) = line.split_once(':')
                && field.trim_end().eq_ignore_ascii_case(name)
            {
                found = Some(value.to_string());
            }
        }
        found.map(|value| value.trim().to_string())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A test that panicked while holding the lock must not hide the mail
    // from the tests that assert on it afterwards.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(converse(stream, Arc::clone(&shared)));
                }
                // Out of file descriptors and the like: back off rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reap finished conversations so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The envelope being built between MAIL and the end of DATA.
#[derive(Default)]
struct Envelope {
    from: Option<String>,
    to: Vec<String>,
}

enum Line {
    Complete(Vec<u8>),
    TooLong,
    Closed,
}

async fn converse(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    // A client that vanishes mid-conversation just ends it.
    let _ = conversation(&mut reader, &mut write, &shared).await;
}

async fn conversation(
    reader: &mut (impl AsyncBufRead + Unpin),
    write: &mut OwnedWriteHalf,
    shared: &Shared,
) -> std::io::Result<()> {
    reply(write, "220 127.0.0.1 ESMTP smtp-sink ready").await?;
    let mut greeted = false;
    let mut envelope = Envelope::default();
    loop {
        let raw = match read_line(reader, MAX_COMMAND_BYTES).await? {
            Line::Complete(raw) => raw,
            Line::TooLong => {
                reply(write, "500 5.5.6 line too long").await?;
                continue;
            }
            Line::Closed => return Ok(()),
        };
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" if !rest.is_empty() => {
                greeted = true;
                envelope = Envelope::default();
                reply(
                    write,
                    &format!(
                        "250-127.0.0.1 greets {rest}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
                         250 SIZE {MAX_MESSAGE_BYTES}"
                    ),
                )
                .await?;
            }
            "HELO" if !rest.is_empty() => {
                greeted = true;
                envelope = Envelope::default();
                reply(write, "250 127.0.0.1").await?;
            }
            "EHLO" | "HELO" => reply(write, "501 5.5.4 a domain is required").await?,
            "MAIL" => {
                let answer = if !greeted {
                    "503 5.5.1 say EHLO first"
                } else if envelope.from.is_some() {
                    "503 5.5.1 sender already given"
                } else {
                    match mail_from(rest) {
                        Ok(from) => {
                            envelope.from = Some(from);
                            "250 2.1.0 sender ok"
                        }
                        Err(answer) => answer,
                    }
                };
                reply(write, answer).await?;
            }
            "RCPT" => {
                let answer = if envelope.from.is_none() {
                    "503 5.5.1 need MAIL before RCPT"
                } else if envelope.to.len() >= MAX_RECIPIENTS {
                    "452 4.5.3 too many recipients"
                } else {
                    match rcpt_to(rest) {
                        Ok(to) => {
                            envelope.to.push(to);
                            "250 2.1.5 recipient ok"
                        }
                        Err(answer) => answer,
                    }
                };
                reply(write, answer).await?;
            }
            "DATA" if !rest.is_empty() => reply(write, "501 5.5.4 DATA takes no argument").await?,
            "DATA" => {
                if envelope.from.is_none() || envelope.to.is_empty() {
                    reply(write, "503 5.5.1 need MAIL and RCPT before DATA").await?;
                    continue;
                }
                reply(write, "354 end data with <CR><LF>.<CR><LF>").await?;
                let Some(data) = read_data(reader).await? else {
                    return Ok(());
                };
                let taken = std::mem::take(&mut envelope);
                let answer = accept(shared, taken, data);
                let delay = shared.answer_delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                reply(write, &answer).await?;
            }
            "RSET" => {
                envelope = Envelope::default();
                reply(write, "250 2.0.0 ok").await?;
            }
            "NOOP" => reply(write, "250 2.0.0 ok").await?,
            "VRFY" => reply(write, "252 2.5.2 cannot verify, but will try delivery").await?,
            "QUIT" => {
                reply(write, "221 2.0.0 bye").await?;
                return write.shutdown().await;
            }
            "" => reply(write, "500 5.5.2 empty command").await?,
            _ => reply(write, "502 5.5.2 command not implemented").await?,
        }
    }
}

/// Decides the fate of a transmitted message: the switches a test set, the
/// size limit, or a queue id for a message that is kept.
fn accept(shared: &Shared, envelope: Envelope, data: Option<String>) -> String {
    if shared.reject_all.load(Ordering::SeqCst) {
        return "550 5.1.1 mailbox unavailable".to_string();
    }
    let failed = shared
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failed {
        return "451 4.3.0 try again later".to_string();
    }
    let Some(data) = data else {
        return "552 5.3.4 message exceeds the size limit".to_string();
    };
    let queue_id = shared.queue_ids.fetch_add(1, Ordering::SeqCst) + 1;
    lock(&shared.messages).push(ReceivedMail {
        from: envelope.from.unwrap_or_default(),
        to: envelope.to,
        data,
    });
    shared.arrived.notify_waiters();
    format!("250 2.0.0 ok: queued as SINK{queue_id:06}")
}

/// `FROM:<a@b> [params]`. The null sender `<>` is allowed (bounces use it).
fn mail_from(argument: &str) -> Result<String, &'static str> {
    let (path, params) =
        path_after(argument, "FROM:").ok_or("501 5.5.4 syntax: MAIL FROM:<address>")?;
    for param in params.split_whitespace() {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        match key.to_ascii_uppercase().as_str() {
            "SIZE" => match value.parse::<usize>() {
                Ok(size) if size > MAX_MESSAGE_BYTES => {
                    return Err("552 5.3.4 message exceeds the size limit");
                }
                Ok(_) => {}
                Err(_) => return Err("501 5.5.4 SIZE needs a number"),
            },
            "BODY"
                if value.eq_ignore_ascii_case("8BITMIME") || value.eq_ignore_ascii_case("7BIT") => {
            }
            "SMTPUTF8" if value.is_empty() => {}
            _ => return Err("555 5.5.4 parameter not recognised"),
        }
    }
    Ok(path)
}

/// `TO:<a@b> [params]`. Parameters (DSN's NOTIFY and the like) are not
/// advertised, so any given are ignored rather than refused.
fn rcpt_to(argument: &str) -> Result<String, &'static str> {
    let (path, _) = path_after(argument, "TO:").ok_or("501 5.5.4 syntax: RCPT TO:<address>")?;
    if path.is_empty() {
        return Err("501 5.1.3 a recipient address is required");
    }
    Ok(path)
}

/// Splits `KEYWORD:<path> params`, tolerating the space some clients put
/// after the colon and a missing pair of brackets.
fn path_after<'a>(argument: &'a str, keyword: &str) -> Option<(String, &'a str)> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument[keyword.len()..].trim_start();
    if let Some(bracketed) = rest.strip_prefix('<') {
        let (path, params) = bracketed.split_once('>')?;
        Some((path.trim().to_string(), params.trim()))
    } else {
        let (path, params) = rest.split_once(' ').unwrap_or((rest, ""));
        (!path.is_empty()).then(|| (path.to_string(), params.trim()))
    }
}

/// Reads up to the lone `.` line and undoes dot-stuffing. `Ok(None)` when
/// the client hung up; `Ok(Some(None))` when the message was too big (read
/// to the end regardless, so the conversation stays in step).
async fn read_data(
    reader: &mut (impl AsyncBufRead + Unpin),
) -> std::io::Result<Option<Option<String>>> {
    let mut data: Vec<u8> = Vec::new();
    let mut too_big = false;
    loop {
        let mut line = match read_line(reader, MAX_MESSAGE_BYTES + 2).await? {
            Line::Complete(line) => line,
            Line::TooLong => {
                too_big = true;
                continue;
            }
            Line::Closed => return Ok(None),
        };
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        if line.first() == Some(&b'.') {
            line.remove(0);
        }
        if data.len() + line.len() > MAX_MESSAGE_BYTES {
            too_big = true;
        }
        if !too_big {
            data.extend_from_slice(&line);
        }
    }
    if too_big {
        return Ok(Some(None));
    }
    Ok(Some(Some(String::from_utf8_lossy(&data).into_owned())))
}

/// One line including its terminator, at most `limit` bytes; the rest of a
/// longer line is consumed and reported as too long.
async fn read_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    limit: usize,
) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let n = (&mut *reader)
        .take(limit as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(Line::Closed);
    }
    if line.ends_with(b"\n") {
        return Ok(Line::Complete(line));
    }
    // Hit the limit, or the client closed without a newline: skip to the
    // end of the line before answering.
    loop {
        let mut rest = Vec::new();
        let n = (&mut *reader)
            .take(64 * 1024)
            .read_until(b'\n', &mut rest)
            .await?;
        if n == 0 {
            return Ok(Line::Closed);
        }
        if rest.ends_with(b"\n") {
            return Ok(Line::TooLong);
        }
    }
}

async fn reply(write: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    write.write_all(format!("{text}\r\n").as_bytes()).await?;
    write.flush().await
}
