//! Inbound e-mail: what a resident sends to the municipality's address,
//! reduced to what becomes a request or a reply on one. Parsing is lenient
//! (real mail is messy) but the sender is required, since an answer has to
//! go somewhere, and machine-sent mail is flagged so that it is never
//! answered: two auto-responders answering each other is a mail loop.

use mail_parser::{Addr, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// Longest attachment name kept; file systems and download dialogs choke on
/// longer ones, and nobody types them.
const MAX_FILENAME_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEmail {
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// The addr-spec of `From`, trimmed and lowercased.
    pub from_address: String,
    /// The display name of `From`, RFC 2047-decoded.
    pub from_name: Option<String>,
    /// Decoded and trimmed; empty when the message has none.
    pub subject: String,
    /// The body as plain text, without the quoted earlier message of a reply.
    pub text: String,
    pub attachments: Vec<InboundAttachment>,
    /// Bounces, auto-replies and bulk mail: never answer these.
    pub auto_submitted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundAttachment {
    /// Safe to use as a file name: no path, no control characters.
    pub filename: String,
    /// Lowercased `type/subtype` without parameters.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl InboundEmail {
    /// What a redelivery of this message is recognised by, so that a mail
    /// server retrying a message makes one request, not two: its
    /// Message-ID together with a digest of everything the request is made
    /// of. The Message-ID alone is not enough: broken clients, list
    /// software and forgers reuse them, and a different message taken for
    /// a retry of the first would be refused for ever (the mail server
    /// would keep retrying a permanent condition) or lost. `None` without a
    /// Message-ID: nothing then tells a retry from a new message.
    pub fn retry_key(&self) -> Option<String> {
        let message_id = self.message_id.as_deref()?;
        let mut digest = Sha256::new();
        // Each field length-prefixed: moving text from one field into the
        // next must not give the same digest.
        let mut field = |bytes: &[u8]| {
            digest.update((bytes.len() as u64).to_be_bytes());
            digest.update(bytes);
        };
        field(message_id.as_bytes());
        field(self.from_address.as_bytes());
        field(self.from_name.as_deref().unwrap_or("").as_bytes());
        field(self.subject.as_bytes());
        field(self.text.as_bytes());
        for attachment in &self.attachments {
            field(attachment.filename.as_bytes());
            field(attachment.content_type.as_bytes());
            field(&attachment.bytes);
        }
        Some(format!("email:{}", hex::encode(digest.finalize())))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the message could not be parsed as an e-mail (RFC 5322)")]
    Unparseable,
    #[error("the message has no usable sender address in its From header")]
    NoSender,
}

/// Parses a message as delivered (CRLF or bare LF line ends). Only a
/// missing sender or input that is no e-mail at all is an error.
pub fn parse(raw: &[u8]) -> Result<InboundEmail, EmailError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(EmailError::Unparseable);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(EmailError::Unparseable)?;
    // The parser accepts anything as a body; without a single header there
    // was no e-mail to begin with, only bytes.
    if message.headers().is_empty() {
        return Err(EmailError::Unparseable);
    }

    let sender = message
        .from()
        .and_then(|from| from.iter().find_map(sender_of))
        .ok_or(EmailError::NoSender)?;
    let subject = message.subject().map(str::trim).unwrap_or("").to_string();

    let body = body_text(&message);
    let text = if is_reply(&message, &subject) {
        strip_quoted(&body)
    } else {
        body
    };

    Ok(InboundEmail {
        message_id: message
            .message_id()
            .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>'))
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        auto_submitted: is_auto_submitted(&message, &sender.address),
        from_address: sender.address,
        from_name: sender.name,
        subject,
        text,
        attachments: attachments(&message),
    })
}

struct Sender {
    address: String,
    name: Option<String>,
}

fn sender_of(addr: &Addr<'_>) -> Option<Sender> {
    let address = addr.address()?.trim().to_lowercase();
    let (local, domain) = address.rsplit_once('@')?;
    if local.is_empty()
        || domain.is_empty()
        || address.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let name = addr
        .name()
        .map(|n| n.trim().trim_matches('"').trim())
        // Some clients repeat the address as the name, which says nothing.
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&address))
        .map(str::to_string);
    Some(Sender { address, name })
}

/// Every value of the header field `name`, undecoded, folding collapsed.
fn raw_headers<'m>(message: &'m Message<'_>, name: &'m str) -> impl Iterator<Item = String> + 'm {
    message
        .headers_raw()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// RFC 3834 and the de-facto headers of common auto-responders. A wrongly
/// flagged message still becomes a request; it just gets no automatic
/// answer, so err on the side of flagging.
fn is_auto_submitted(message: &Message<'_>, from_address: &str) -> bool {
    let auto_submitted = raw_headers(message, "Auto-Submitted").any(|v| {
        let keyword = v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        keyword != "no"
    });
    let autoreply = ["X-Autoreply", "X-Autorespond"]
        .iter()
        .any(|name| raw_headers(message, name).next().is_some());
    // `list` is not in the classic trio, but answering a mailing list post
    // would mail the whole list.
    let precedence = raw_headers(message, "Precedence").any(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "bulk" | "auto_reply" | "junk" | "list"
        )
    });
    // The null reverse-path is what bounces are sent with (RFC 5321 4.5.5).
    let null_return_path = raw_headers(message, "Return-Path").any(|v| {
        let v = v.trim();
        v.is_empty() || v.replace(' ', "") == "<>"
    });
    // Delivery status notifications relayed by a forwarder may have lost
    // their null return path but keep their shape and sender.
    let report = message.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    let daemon = from_address
        .split('@')
        .next()
        .is_some_and(|local| local == "mailer-daemon");
    auto_submitted || autoreply || precedence || null_return_path || report || daemon
}

fn body_text(message: &Message<'_>) -> String {
    // The parser lists text/plain parts as the text body and falls back to
    // the HTML parts when there is no plain alternative.
    let plain = join_parts(message.text_bodies().filter_map(part_text));
    if !plain.is_empty() {
        return plain;
    }
    // Some clients send an empty text/plain next to the real HTML body.
    join_parts(message.html_bodies().filter_map(part_text))
}

fn part_text(part: &MessagePart<'_>) -> Option<String> {
    match &part.body {
        PartType::Text(text) => Some(text.to_string()),
        // The converter keeps the source's indentation and the spaces
        // between block tags, which mean nothing once the tags are gone.
        PartType::Html(html) => Some(
            mail_parser::decoders::html::html_to_text(html)
                .lines()
                .map(str::trim_start)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => None,
    }
}

fn join_parts(parts: impl Iterator<Item = String>) -> String {
    let texts: Vec<String> = parts
        .map(|p| normalise(&p))
        .filter(|p| !p.is_empty())
        .collect();
    texts.join("\n\n")
}

/// Unix newlines, no trailing spaces, at most one blank line in a row (HTML
/// conversion leaves many), trimmed.
fn normalise(text: &str) -> String {
    let unix = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(unix.len());
    let mut blank_run = 0;
    for line in unix.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_string()
}

const REPLY_PREFIXES: [&str; 6] = ["re", "sv", "aw", "antw", "vs", "ynt"];
const FORWARD_PREFIXES: [&str; 6] = ["fwd", "fw", "vb", "wg", "tr", "vl"];

/// Only a reply carries a quote of an earlier message that we sent; a
/// forwarded message is the content itself and must be kept whole.
fn is_reply(message: &Message<'_>, subject: &str) -> bool {
    match leading_prefix(subject) {
        Some(p) if REPLY_PREFIXES.contains(&p.as_str()) => true,
        Some(p) if FORWARD_PREFIXES.contains(&p.as_str()) => false,
        _ => !message.in_reply_to().is_empty() || !message.references().is_empty(),
    }
}

/// `"SV: Ärende"` → `Some("sv")`; also `"Re[2]:"`.
fn leading_prefix(subject: &str) -> Option<String> {
    let (head, _) = subject.trim_start().split_once(':')?;
    let word = head.split('[').next().unwrap_or(head).trim();
    (word.len() <= 4 && word.chars().all(|c| c.is_ascii_alphabetic()) && !word.is_empty())
        .then(|| word.to_ascii_lowercase())
}

/// Removes the quoted earlier message from a reply. Everything after an
/// attribution line or an Outlook header block goes (top-posting is the norm),
/// and `>` lines go wherever they are (inline answers between them stay).
/// If nothing would be left, the original is kept: a resident who only
/// forwards the quote still meant to say something.
fn strip_quoted(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let cut = (0..lines.len())
        .find(|&i| quote_starts_at(&lines, i))
        .unwrap_or(lines.len());
    let mut kept: Vec<&str> = lines[..cut]
        .iter()
        .copied()
        .filter(|line| !line.trim_start().starts_with('>'))
        .collect();
    // Outlook draws a rule of underscores above its header block.
    while kept.last().is_some_and(|line| {
        line.trim()
            .chars()
            .all(|c| c == '_' || c == '-' || c.is_whitespace())
    }) {
        kept.pop();
    }
    let stripped = normalise(&kept.join("\n"));
    if stripped.is_empty() {
        text.to_string()
    } else {
        stripped
    }
}

fn quote_starts_at(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    if is_separator(line) || is_outlook_header_block(lines, i) {
        return true;
    }
    if is_attribution(line) {
        return true;
    }
    // Gmail wraps a long attribution line, usually inside the address.
    match lines.get(i + 1).map(|l| l.trim()) {
        Some(next) if !line.is_empty() && !next.is_empty() && !line.starts_with('>') => {
            let joined = is_attribution(&format!("{line} {next}"))
                || is_attribution(&format!("{line}{next}"));
            joined && !is_attribution(next)
        }
        _ => false,
    }
}

fn is_separator(line: &str) -> bool {
    let lower = line.to_lowercase();
    let inner = lower.trim_matches(|c: char| c == '-' || c.is_whitespace());
    line.starts_with("---")
        && matches!(
            inner,
            "original message" | "ursprungligt meddelande" | "originalmeddelande"
        )
}

/// `On <date>, <x> wrote:` / `Den <date> skrev <x>:` and the Apple and
/// Thunderbird variants. A date or an address must be present so that a
/// resident's own "as I wrote:" is not taken for one.
fn is_attribution(line: &str) -> bool {
    let lower = line.to_lowercase();
    if !lower.ends_with(':') || line.chars().count() > 300 {
        return false;
    }
    let says = lower.ends_with("wrote:")
        || lower.ends_with("skrev:")
        || lower.contains(" skrev ")
        || lower.contains(" wrote ");
    says && (line.contains('@') || has_clock_time(line))
}

fn has_clock_time(line: &str) -> bool {
    let b = line.as_bytes();
    b.windows(4).enumerate().any(|(i, w)| {
        w[0].is_ascii_digit()
            && (w[1] == b':' || w[1] == b'.')
            && w[2].is_ascii_digit()
            && w[3].is_ascii_digit()
            && b.get(i + 4).is_none_or(|c| !c.is_ascii_digit())
    })
}

/// Outlook quotes with a header block instead of `>`:
/// `Från: … / Skickat: … / Till: … / Ämne: …`. One field name alone could be
/// the resident's own text, so at least a date and a subject line must
/// follow within the block.
fn is_outlook_header_block(lines: &[&str], i: usize) -> bool {
    let field = |line: &str, names: &[&str]| {
        let line = line.trim_start_matches(['*', ' ']).to_lowercase();
        names.iter().any(|n| line.starts_with(n))
    };
    if !field(lines[i], &["från:", "from:"]) {
        return false;
    }
    let block = &lines[i + 1..lines.len().min(i + 7)];
    let dated = block
        .iter()
        .any(|l| field(l, &["skickat:", "sent:", "datum:", "date:"]));
    let titled = block.iter().any(|l| field(l, &["ämne:", "subject:"]));
    dated && titled
}

fn attachments(message: &Message<'_>) -> Vec<InboundAttachment> {
    let mut out = Vec::new();
    for part in message.attachments() {
        let bytes = part.contents();
        if bytes.is_empty() {
            continue;
        }
        let content_type = content_type_of(part);
        let filename = part
            .attachment_name()
            .map(sanitise_filename)
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| fallback_filename(out.len() + 1, &content_type));
        out.push(InboundAttachment {
            filename,
            content_type,
            bytes: bytes.to_vec(),
        });
    }
    out
}

fn content_type_of(part: &MessagePart<'_>) -> String {
    if let Some(ct) = part.content_type() {
        let main = ct.ctype().trim();
        let sub = ct.subtype().map(str::trim).unwrap_or("");
        if !main.is_empty() && !sub.is_empty() {
            return format!("{main}/{sub}").to_ascii_lowercase();
        }
    }
    match &part.body {
        PartType::Text(_) => "text/plain",
        PartType::Html(_) => "text/html",
        PartType::Message(_) => "message/rfc822",
        _ => "application/octet-stream",
    }
    .to_string()
}

/// Keeps only the last path segment (a name like `C:\Users\x\kvitto.pdf` or
/// `../../etc/passwd` must not steer where it is written), drops control
/// characters, and shortens long names while keeping the extension.
fn sanitise_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .to_string();
    if cleaned.chars().count() <= MAX_FILENAME_CHARS {
        return cleaned;
    }
    let extension = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.chars().count() <= 16);
    match extension {
        Some(ext) => {
            let stem_len = MAX_FILENAME_CHARS - ext.chars().count() - 1;
            let stem: String = cleaned.chars().take(stem_len).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => cleaned.chars().take(MAX_FILENAME_CHARS).collect(),
    }
}

fn fallback_filename(n: usize, content_type: &str) -> String {
    let extension = match content_type {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/gif" => ".gif",
        "image/heic" => ".heic",
        "image/webp" => ".webp",
        "application/pdf" => ".pdf",
        "text/plain" => ".txt",
        "text/html" => ".html",
        "text/calendar" => ".ics",
        "message/rfc822" => ".eml",
        _ => "",
    };
    format!("bilaga-{n}{extension}")
}

/// Every token in the subject that looks like a request reference
/// (`EVI-2026-004217-3`), in canonical upper case, first one first. Whether
/// the check digit holds is for `Reference::parse` to say.
pub fn reference_candidates(subject: &str) -> Vec<String> {
    const PREFIX: &[u8] = b"EVI";
    const YEAR: usize = 4;
    const MIN_SEQUENCE: usize = 6;
    // Far beyond any real sequence, short enough not to swallow a phone
    // number glued to it.
    const MAX_SEQUENCE: usize = 12;

    let bytes = subject.as_bytes();
    let mut found: Vec<String> = Vec::new();
    let mut i = 0;
    while i + PREFIX.len() <= bytes.len() {
        let starts_token = bytes[i..i + PREFIX.len()].eq_ignore_ascii_case(PREFIX)
            && subject[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
        if !starts_token {
            i += 1;
            continue;
        }
        // Digits with hyphens anywhere (people group them as they like);
        // the run ends at anything else.
        let mut end = i + PREFIX.len();
        let mut digits = String::new();
        while let Some(&b) = bytes.get(end) {
            if b.is_ascii_digit() {
                digits.push(char::from(b));
            } else if b != b'-' {
                break;
            }
            end += 1;
        }
        let glued = subject[end..]
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric);
        let sequence_len = digits.len().saturating_sub(YEAR + 1);
        if !glued && (MIN_SEQUENCE..=MAX_SEQUENCE).contains(&sequence_len) {
            let (year, rest) = digits.split_at(YEAR);
            let (sequence, check) = rest.split_at(rest.len() - 1);
            let candidate = format!("EVI-{year}-{sequence}-{check}");
            if !found.contains(&candidate) {
                found.push(candidate);
            }
        }
        i = end.max(i + 1);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixtures are written with `\n` for readability; mail travels with CRLF.
    fn crlf(message: &str) -> Vec<u8> {
        message.replace('\n', "\r\n").into_bytes()
    }

    fn parsed(message: &str) -> InboundEmail {
        parse(&crlf(message)).expect("fixture parses")
    }

    const PLAIN_UTF8: &str = r#"Return-Path: <Asa.Oberg@Example.SE>
Received: from mx.example.se (mx.example.se [192.0.2.10])
	by mail.vaxjo.example; Tue, 3 Mar 2026 09:12:44 +0100
Message-ID: <20260303091244.4711@example.se>
Date: Tue, 3 Mar 2026 09:12:40 +0100
From: "Åsa Öberg" <Asa.Oberg@Example.SE>
To: kommun@vaxjo.example
Subject:   Trasig gatlampa på Storgatan  
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej!

Gatlampan utanför Storgatan 12 är trasig sedan en vecka.   
Det är mörkt på kvällarna och barnen går förbi där till skolan.



Med vänliga hälsningar
Åsa Öberg
"#;

    #[test]
    fn a_plain_utf8_message_in_swedish_becomes_text_and_sender() {
        let email = parsed(PLAIN_UTF8);
        assert_eq!(
            email.message_id.as_deref(),
            Some("20260303091244.4711@example.se")
        );
        assert_eq!(email.from_address, "asa.oberg@example.se");
        assert_eq!(email.from_name.as_deref(), Some("Åsa Öberg"));
        assert_eq!(email.subject, "Trasig gatlampa på Storgatan");
        assert_eq!(
            email.text,
            "Hej!\n\nGatlampan utanför Storgatan 12 är trasig sedan en vecka.\n\
             Det är mörkt på kvällarna och barnen går förbi där till skolan.\n\n\
             Med vänliga hälsningar\nÅsa Öberg"
        );
        assert!(email.attachments.is_empty());
        assert!(!email.auto_submitted);
    }

    #[test]
    fn a_quoted_printable_latin1_body_is_decoded_to_swedish_text() {
        let email = parsed(
            r#"From: Per Lindqvist <per.lindqvist@example.se>
To: kommun@vaxjo.example
Subject: =?ISO-8859-1?Q?Sn=F6r=F6jning?=
Date: Wed, 4 Mar 2026 07:30:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Sn=F6r=F6jningen p=E5 =C5kerv=E4gen har inte kommit p=E5 tre dagar och v=
=E4gen =E4r nu helt igensn=F6ad.
"#,
        );
        assert_eq!(email.subject, "Snöröjning");
        assert_eq!(
            email.text,
            "Snöröjningen på Åkervägen har inte kommit på tre dagar och vägen är nu helt igensnöad."
        );
    }

    #[test]
    fn encoded_words_in_subject_and_sender_name_are_decoded() {
        let email = parsed(
            r#"From: =?utf-8?q?Bj=C3=B6rn_Str=C3=B6m?= <BJORN@example.se>
To: kommun@vaxjo.example
Subject: =?utf-8?B?RnLDpWdhIG9tIGJ5Z2dsb3Y=?=
 =?iso-8859-1?q?_f=F6r_altan?=
Message-ID: <abc.123@mail.example.se>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hej, behovs bygglov for en altan pa 20 kvm?
"#,
        );
        assert_eq!(email.from_name.as_deref(), Some("Björn Ström"));
        assert_eq!(email.from_address, "bjorn@example.se");
        assert_eq!(email.subject, "Fråga om bygglov för altan");
    }

    const ALTERNATIVE: &str = r#"From: Karin Nilsson <karin@example.se>
To: kommun@vaxjo.example
Subject: Buller från byggarbetsplats
Message-ID: <CAF3x9=q0@mail.gmail.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="000000000000b1c2d3"

--000000000000b1c2d3
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Hej,

Byggarbetsplatsen p=C3=A5 Norrgatan b=C3=B6rjar borra klockan sex p=C3=A5 m=
orgonen.

Karin

--000000000000b1c2d3
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">HTML-VERSIONEN<br>Byggarbetsplatsen p=C3=A5 Norrgatan</div>

--000000000000b1c2d3--
"#;

    #[test]
    fn the_plain_text_alternative_is_chosen_over_html_and_is_no_attachment() {
        let email = parsed(ALTERNATIVE);
        assert_eq!(
            email.text,
            "Hej,\n\nByggarbetsplatsen på Norrgatan börjar borra klockan sex på morgonen.\n\nKarin"
        );
        assert!(!email.text.contains("HTML-VERSIONEN"));
        assert!(email.attachments.is_empty(), "{:?}", email.attachments);
        assert_eq!(
            email.message_id.as_deref(),
            Some("CAF3x9=q0@mail.gmail.com")
        );
    }

    #[test]
    fn an_html_only_message_is_converted_to_text_without_tags() {
        let email = parsed(
            r#"From: info@example.se
To: kommun@vaxjo.example
Subject: Parkbänk
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<!DOCTYPE html>
<html><head><title>ignored</title><style>p { color: red; }</style></head>
<body><p>Hej,</p><p>Parkb&auml;nken i <b>Stadsparken</b> &auml;r s&ouml;nder.</p>
<p>Mvh<br>Lars</p></body></html>
"#,
        );
        assert_eq!(
            email.text,
            "Hej,\nParkbänken i Stadsparken är sönder.\nMvh\nLars"
        );
        assert!(!email.text.contains('<') && !email.text.contains('>'));
        assert!(!email.text.contains("color"));
        assert_eq!(email.from_name, None);
        assert!(email.attachments.is_empty());
    }

    const JPEG_B64: &str =
        "/9j/4AAQSkZJRgABAQAAAQABAAAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMk\nJSYn/9k=";
    const PDF_B64: &str = "JVBERi0xLjQKMSAwIG9iaiA8PCAvVHlwZSAvQ2F0YWxvZyA+PiBlbmRvYmoKdHJhaWxlciA8PCAv\nUm9vdCAxIDAgUiA+PgolJUVPRgo=";

    fn mixed_with_attachments() -> String {
        format!(
            r#"From: Eva Holm <eva.holm@example.se>
To: kommun@vaxjo.example
Subject: Skadegörelse vid lekplatsen
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed-42"

--mixed-42
Content-Type: multipart/alternative; boundary="alt-42"

--alt-42
Content-Type: text/plain; charset=utf-8

Se bifogad bild och polisanmälan.

--alt-42
Content-Type: text/html; charset=utf-8

<p>Se bifogad bild och polisanmälan.</p>

--alt-42--

--mixed-42
Content-Type: image/JPEG; name="IMG_0042.JPG"
Content-Disposition: attachment; filename="IMG_0042.JPG"
Content-Transfer-Encoding: base64

{JPEG_B64}

--mixed-42
Content-Type: application/pdf; name*=utf-8''polisanm%C3%A4lan.pdf
Content-Disposition: attachment
Content-Transfer-Encoding: base64

{PDF_B64}

--mixed-42--
"#
        )
    }

    #[test]
    fn a_jpeg_and_a_pdf_in_multipart_mixed_become_attachments_with_decoded_bytes() {
        let email = parsed(&mixed_with_attachments());
        assert_eq!(email.text, "Se bifogad bild och polisanmälan.");
        assert_eq!(email.attachments.len(), 2, "{:?}", email.attachments);

        let jpeg = &email.attachments[0];
        assert_eq!(jpeg.filename, "IMG_0042.JPG");
        assert_eq!(jpeg.content_type, "image/jpeg");
        assert_eq!(&jpeg.bytes[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!(&jpeg.bytes[jpeg.bytes.len() - 2..], &[0xFF, 0xD9]);

        let pdf = &email.attachments[1];
        assert_eq!(pdf.filename, "polisanmälan.pdf");
        assert_eq!(pdf.content_type, "application/pdf");
        assert!(pdf.bytes.starts_with(b"%PDF-1.4"));
        assert!(pdf.bytes.ends_with(b"%%EOF\n"));
    }

    #[test]
    fn an_inline_image_in_html_counts_as_attachment_but_the_html_does_not() {
        let email = parsed(
            r#"From: Omar Haddad <omar@example.se>
To: kommun@vaxjo.example
Subject: Hål i vägen
MIME-Version: 1.0
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=utf-8

<p>Hålet på Kungsgatan:</p><img src="cid:hal@example">

--rel
Content-Type: image/png
Content-ID: <hal@example>
Content-Disposition: inline
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAAAAAAAAAAAAAA=

--rel
Content-Type: image/gif
Content-ID: <empty@example>
Content-Disposition: inline
Content-Transfer-Encoding: base64


--rel--
"#,
        );
        assert_eq!(email.text, "Hålet på Kungsgatan:");
        assert_eq!(email.attachments.len(), 1, "{:?}", email.attachments);
        assert_eq!(email.attachments[0].filename, "bilaga-1.png");
        assert_eq!(email.attachments[0].content_type, "image/png");
        assert!(email.attachments[0].bytes.starts_with(b"\x89PNG"));
    }

    #[test]
    fn attachment_names_lose_paths_and_control_characters_and_stay_short() {
        assert_eq!(sanitise_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitise_filename(r"C:\Users\anna\kvitto.pdf"), "kvitto.pdf");
        assert_eq!(sanitise_filename("rap\u{0}port\r\n.docx"), "rapport.docx");
        assert_eq!(sanitise_filename(".."), "");
        assert_eq!(sanitise_filename("dir/"), "");
        let long = format!("{}.jpeg", "å".repeat(300));
        let short = sanitise_filename(&long);
        assert_eq!(short.chars().count(), MAX_FILENAME_CHARS);
        assert!(short.ends_with(".jpeg"));
        assert_eq!(fallback_filename(3, "application/x-unknown"), "bilaga-3");
    }

    #[test]
    fn an_attachment_named_like_a_path_is_stored_under_its_base_name() {
        let email = parsed(
            r#"From: a@example.se
Subject: Bilaga
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

Se bilaga.
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="../../../etc/cron.d/x"

hello
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename=""

second
--b--
"#,
        );
        let names: Vec<&str> = email
            .attachments
            .iter()
            .map(|a| a.filename.as_str())
            .collect();
        assert_eq!(names, ["x", "bilaga-2"]);
    }

    #[test]
    fn a_swedish_gmail_reply_loses_the_quoted_message() {
        let email = parsed(
            r#"From: Åsa Öberg <asa.oberg@example.se>
To: kommun@vaxjo.example
Subject: SV: Ärende [EVI-2026-000001-3]
In-Reply-To: <evi-2026-000001-3.1@vaxjo.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Tack! Lampan lyser fortfarande inte, men nu vet jag att ni har fått det.

Den tis 3 mars 2026 kl 10:15 skrev Växjö kommun <
kommun@vaxjo.example>:

> Hej Åsa,
>
> Vi har tagit emot ditt ärende EVI-2026-000001-3.
>
> Med vänlig hälsning
> Växjö kommun
"#,
        );
        assert_eq!(email.subject, "SV: Ärende [EVI-2026-000001-3]");
        assert_eq!(
            email.text,
            "Tack! Lampan lyser fortfarande inte, men nu vet jag att ni har fått det."
        );
        assert_eq!(reference_candidates(&email.subject), ["EVI-2026-000001-3"]);
    }

    #[test]
    fn an_english_reply_with_inline_answers_keeps_the_answers() {
        let email = parsed(
            r#"From: john@example.com
Subject: Re: Your request EVI-2026-000001-3
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

> Which street is it on?
Storgatan, by number 12.
> Since when?
Since last Monday.
"#,
        );
        assert_eq!(email.text, "Storgatan, by number 12.\nSince last Monday.");
    }

    #[test]
    fn an_outlook_reply_loses_the_header_block_and_everything_below() {
        let email = parsed(
            r#"From: "Nilsson, Karin" <karin.nilsson@foretag.example>
Subject: SV: Ärende EVI-2026-000123-4
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hej, vi kan ta bort containern på fredag.

Vänligen
Karin

________________________________
Från: Växjö kommun <kommun@vaxjo.example>
Skickat: den 3 mars 2026 10:15
Till: Nilsson, Karin <karin.nilsson@foretag.example>
Ämne: Ärende EVI-2026-000123-4

Hej, containern står kvar.
"#,
        );
        assert_eq!(
            email.text,
            "Hej, vi kan ta bort containern på fredag.\n\nVänligen\nKarin"
        );
        assert_eq!(email.from_name.as_deref(), Some("Nilsson, Karin"));
    }

    #[test]
    fn an_original_message_separator_and_an_english_attribution_end_the_reply() {
        let separator =
            strip_quoted("Jag håller med.\n\n-----Ursprungligt meddelande-----\nFrån: x\nHej");
        assert_eq!(separator, "Jag håller med.");
        let english = strip_quoted("Fine by me.\n\n-----Original Message-----\nFrom: x\nHello");
        assert_eq!(english, "Fine by me.");
        let thunderbird = strip_quoted("Thanks.\n\nOn 3/3/26 10:15, Växjö kommun wrote:\n> Hello");
        assert_eq!(thunderbird, "Thanks.");
        let apple = strip_quoted(
            "Tack.\n\n3 mars 2026 kl. 10:15 skrev Växjö kommun <kommun@vaxjo.example>:\n\nHej",
        );
        assert_eq!(apple, "Tack.");
    }

    #[test]
    fn a_residents_own_words_that_resemble_a_quote_marker_are_kept() {
        let text = "Som jag skrev förra veckan:\nLampan är trasig.\nFrån: mig\nTill: er";
        assert_eq!(strip_quoted(text), text);
    }

    #[test]
    fn a_reply_that_is_only_quote_keeps_its_original_text() {
        let email = parsed(
            "From: a@example.se\nSubject: Re: Ärende\nContent-Type: text/plain\n\n> Hej\n> Ni har fått svar\n",
        );
        assert_eq!(email.text, "> Hej\n> Ni har fått svar");
    }

    #[test]
    fn a_forwarded_message_keeps_the_forwarded_content() {
        let email = parsed(
            r#"From: a@example.se
Subject: VB: Faktura
Content-Type: text/plain

Se nedan, fakturan stämmer inte.

________________________________
Från: Bolaget <faktura@bolaget.example>
Skickat: den 1 mars 2026 08:00
Till: a@example.se
Ämne: Faktura

Belopp: 1 200 kr
"#,
        );
        assert!(email.text.contains("Belopp: 1 200 kr"));
    }

    #[test]
    fn an_auto_reply_is_flagged_as_auto_submitted() {
        let email = parsed(
            r#"From: Anna Berg <anna.berg@example.se>
To: kommun@vaxjo.example
Subject: Autosvar: Ärende EVI-2026-000001-3
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset=utf-8

Jag är på semester till och med 10 augusti.
"#,
        );
        assert!(email.auto_submitted);
        assert_eq!(email.text, "Jag är på semester till och med 10 augusti.");
    }

    #[test]
    fn bounces_and_bulk_mail_are_flagged_but_auto_submitted_no_is_not() {
        let with = |header: &str| {
            parsed(&format!(
                "{header}\nFrom: x@example.se\nSubject: s\n\nbody\n"
            ))
            .auto_submitted
        };
        assert!(with("Return-Path: <>"));
        assert!(with("Precedence: bulk"));
        assert!(with("Precedence: Junk"));
        assert!(with("Precedence: auto_reply"));
        assert!(with("X-Autoreply: yes"));
        assert!(with(
            "Auto-Submitted: auto-generated; owner-email=\"x@example.se\""
        ));
        assert!(with(
            "Content-Type: multipart/report; report-type=delivery-status"
        ));
        assert!(!with("Auto-Submitted: no"));
        assert!(!with("Return-Path: <x@example.se>"));
        assert!(!with("X-Mailer: Outlook"));

        let daemon = parsed(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.se>\nSubject: Undelivered\n\nbody\n",
        );
        assert!(daemon.auto_submitted);
    }

    #[test]
    fn a_message_without_from_is_refused_for_having_no_sender() {
        let missing = parse(&crlf(
            "To: kommun@vaxjo.example\nSubject: Hej\nContent-Type: text/plain\n\nHej\n",
        ));
        assert_eq!(missing, Err(EmailError::NoSender));
        let no_address = parse(&crlf("From: Anna Berg\nSubject: Hej\n\nHej\n"));
        assert_eq!(no_address, Err(EmailError::NoSender));
        let group_only = parse(&crlf(
            "From: undisclosed-recipients:;\nSubject: Hej\n\nHej\n",
        ));
        assert_eq!(group_only, Err(EmailError::NoSender));
    }

    #[test]
    fn a_message_without_subject_or_body_has_empty_strings() {
        let email = parsed("From: a@example.se\n\n");
        assert_eq!(email.subject, "");
        assert_eq!(email.text, "");
        assert_eq!(email.message_id, None);
    }

    #[test]
    fn a_redelivered_message_has_the_same_retry_key_and_another_message_under_its_id_does_not() {
        let first = parsed(PLAIN_UTF8);
        let redelivered = parsed(&PLAIN_UTF8.replace(
            "Return-Path: <Asa.Oberg@Example.SE>\n",
            "Return-Path: <Asa.Oberg@Example.SE>\nReceived: from relay2.example.se; Tue, 3 Mar 2026 09:20:00 +0100\n",
        ));
        let other_text = parsed(&PLAIN_UTF8.replace("en vecka", "två veckor"));
        let other_id = parsed(&PLAIN_UTF8.replace("4711@", "4712@"));
        let key = first
            .retry_key()
            .expect("a message with a Message-ID has a key");
        assert_eq!(
            redelivered.retry_key().as_ref(),
            Some(&key),
            "trace headers do not count"
        );
        assert_ne!(
            other_text.retry_key().as_ref(),
            Some(&key),
            "same ID, other text"
        );
        assert_ne!(other_id.retry_key().as_ref(), Some(&key));
        assert!(key.len() <= 200, "fits an idempotency key");
        assert_eq!(parsed("From: a@example.se\n\nHej\n").retry_key(), None);
    }

    #[test]
    fn garbage_bytes_are_an_error_and_never_a_panic() {
        assert_eq!(parse(b""), Err(EmailError::Unparseable));
        assert_eq!(parse(b" \r\n\r\n"), Err(EmailError::Unparseable));
        assert!(parse(&[0xFF, 0xFE, 0x00, 0x9F, 0x80, 0x0D, 0x0A]).is_err());
        assert!(parse(b"\x00\x01\x02 just some binary \xC3\x28 noise").is_err());
    }

    #[test]
    fn random_and_truncated_input_never_panics() {
        // A fixed-seed generator: the same inputs every run, no extra crate.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..300 {
            let len = (next() % 400) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = parse(&bytes);
        }
        let fixtures = [
            crlf(PLAIN_UTF8),
            crlf(ALTERNATIVE),
            crlf(&mixed_with_attachments()),
        ];
        for fixture in &fixtures {
            for cut in (0..fixture.len()).step_by(7) {
                let _ = parse(&fixture[..cut]);
                let mut flipped = fixture.clone();
                flipped[cut] ^= next() as u8;
                let _ = parse(&flipped);
            }
        }
    }

    #[test]
    fn reference_candidates_are_found_behind_reply_prefixes_and_in_brackets() {
        assert_eq!(
            reference_candidates("SV: Ärende [EVI-2026-000001-3]"),
            ["EVI-2026-000001-3"]
        );
        assert_eq!(
            reference_candidates("Re: evi-2026-004217-3 gatlampa"),
            ["EVI-2026-004217-3"]
        );
        assert_eq!(
            reference_candidates("VB: Fwd: (EVI-2026-0004217-5), EVI-2025-000123-4."),
            ["EVI-2026-0004217-5", "EVI-2025-000123-4"]
        );
        assert_eq!(
            reference_candidates("Ärende:EVI20260042173"),
            ["EVI-2026-004217-3"]
        );
    }

    #[test]
    fn reference_candidates_are_deduplicated_in_order_of_appearance() {
        assert_eq!(
            reference_candidates("EVI-2026-000002-1 om EVI-2026-000001-3 och evi-2026-000002-1"),
            ["EVI-2026-000002-1", "EVI-2026-000001-3"]
        );
    }

    #[test]
    fn things_that_only_resemble_a_reference_are_no_candidates() {
        for subject in [
            "",
            "Hej, min lampa är trasig",
            "EVI",
            "EVI-2026",
            "EVI-2026-00001-3",
            "XEVI-2026-000001-3",
            "ÄEVI-2026-000001-3",
            "EVI-2026-000001-3a",
            "EVI-2026-0000000000001-3",
            "EVIG-2026-000001-3",
        ] {
            assert!(
                reference_candidates(subject).is_empty(),
                "{subject:?} gave {:?}",
                reference_candidates(subject)
            );
        }
    }
}
