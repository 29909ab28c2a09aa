//! Letters to residents, and the pure helpers of the outbox.
//!
//! Every change a resident should hear about writes a notification to the
//! outbox in the same transaction as the change; a background sender later
//! delivers it by e-mail (plain text and simple HTML) or SMS. This module
//! decides what those messages say, so that wording, masking and escaping
//! live in one place and can be tested without a mail server:
//!
//! - [`compose`] turns an [`Occasion`] into a [`Letter`] in the resident's
//!   language. The reference is always in the subject, so a reply ("SV: …")
//!   can be attached to the right request by the e-mail gateway.
//! - Everything a person typed (handler messages, referral texts, emergency
//!   advice, attachment names) goes through [`mask_personal_numbers`] first:
//!   personal identity numbers never leave in a notification (GDPR; the
//!   design's masking rule). Status URLs and tracking codes are not masked,
//!   since masking would break them, and they are ours, not typed text.
//! - [`sign_webhook`] and [`retry_delay`] serve the sender's deliveries to
//!   administrations' systems and its retries; they take time and
//!   randomness as arguments so they stay pure.
//!
//! Deciding *whether* to send is not done here: requests with protected
//! identity send no e-mail or SMS at all, and the caller must not compose
//! letters for them.

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::Language;

/// The longest SMS [`compose`] writes, in characters.
pub const SMS_MAX_CHARS: usize = 320;

/// Why the resident hears from us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occasion {
    /// Registered: receipt. `tracking_code` is present when we can still show
    /// it (only right after submission).
    Received {
        tracking_code: Option<String>,
        outcome: ReceiptOutcome,
        resolve_due: NaiveDate,
        emergency_advice: Option<String>,
        /// "name: reason" lines.
        refused_attachments: Vec<String>,
    },
    /// A person classified it out of triage, or moved it to another
    /// administration.
    Routed {
        administration: String,
        resolve_due: NaiveDate,
    },
    /// WAITING_FOR_CITIZEN: the handler asks for more information.
    Question {
        message: String,
    },
    /// A message from the handler without a status change (e.g. "handling is
    /// delayed, because …" per Förvaltningslagen 11 §).
    Message {
        message: String,
    },
    Resolved {
        message: String,
    },
    /// The message names the right authority.
    Referred {
        message: String,
    },
    Closed {
        message: Option<String>,
        automatically: bool,
    },
}

/// Where a new request went when it was registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptOutcome {
    Queued { administration: String },
    Triage,
    Referred { message: String },
}

/// What every letter needs besides the occasion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LetterContext<'a> {
    /// E.g. "EVI-2026-004217-3".
    pub reference: &'a str,
    pub language: Language,
    /// E.g. "Exempelby kommun".
    pub municipality: &'a str,
    /// Absolute URL of the status page for this request (already includes
    /// the reference and, for the receipt, the tracking code).
    pub status_url: &'a str,
}

/// One message, ready for each channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
    /// The SMS for requests in confidential categories (social services,
    /// care): an SMS shows on a locked phone to whoever holds it, so this one
    /// says only what kind of news there is, never the message or the
    /// administration. Same limits as `sms`.
    pub sms_discreet: String,
}

/// Composes the letter for `occasion` in the resident's language.
pub fn compose(occasion: &Occasion, ctx: &LetterContext) -> Letter {
    let draft = draft(occasion, ctx);
    let subject = one_line(&format!(
        "{} {}: {}",
        tr(ctx.language, "Ditt ärende", "Your request"),
        ctx.reference,
        draft.subject
    ));
    Letter {
        text: render_text(&draft.blocks),
        html: render_html(ctx.language, &subject, &draft.blocks),
        sms: render_sms(ctx, &draft.sms),
        sms_discreet: render_sms(ctx, &draft.sms.discreet()),
        subject,
    }
}

/// Composes the letter in the resident's language and then in the other
/// one, for a resident who wrote in a language the municipality does not
/// answer in: Swedish and English give them the best chance of reading it
/// or finding someone who can. The SMS stays in one language; it must fit.
pub fn compose_in_both(occasion: &Occasion, ctx: &LetterContext) -> Letter {
    let other = match ctx.language {
        Language::Sv => Language::En,
        Language::En => Language::Sv,
    };
    let first = compose(occasion, ctx);
    let second_ctx = LetterContext {
        language: other,
        ..*ctx
    };
    let second = draft(occasion, &second_ctx);
    let second_subject = one_line(&format!(
        "{} {}: {}",
        tr(other, "Ditt ärende", "Your request"),
        ctx.reference,
        second.subject
    ));
    let divider = tr(other, "På svenska", "In English");
    let subject = one_line(&format!("{} / {second_subject}", first.subject));
    let first_draft = draft(occasion, ctx);
    Letter {
        text: format!(
            "{}\n\n——— {divider} ———\n\n{}",
            first.text,
            render_text(&second.blocks)
        ),
        html: html_document(
            ctx.language,
            &subject,
            &format!(
                "{}<hr>\n<div lang=\"{}\">\n<h2>{}</h2>\n{}</div>\n",
                html_body(&first_draft.blocks),
                other.code(),
                escape_html(divider),
                html_body(&second.blocks)
            ),
        ),
        subject,
        sms: first.sms,
        sms_discreet: first.sms_discreet,
    }
}

/// Masks everything that looks like a Swedish personal identity or
/// coordination number, keeping the date part: "19800101-****",
/// "800101-****".
///
/// Recognised: 12 digits (YYYYMMDDNNNN, century 18–20) or 10 digits
/// (YYMMDDNNNN), with an optional '-' or '+' before the last four; month
/// 01–12, day 01–31, or 61–91 for samordningsnummer. Digits that are part of
/// a longer digit run are not a match.
///
/// Ten digits without a separator are also the shape of a Swedish phone
/// number ("0701234567" reads as 7 January 2007), so that form must also
/// carry a valid Luhn check digit; this leaves about nine phone numbers in
/// ten alone. With a separator, or with twelve digits, the shape alone is
/// enough, so a mistyped number is still masked.
pub fn mask_personal_numbers(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    // ASCII digits, '-' and '+' never occur inside a multi-byte UTF-8
    // sequence, so byte positions found here are always char boundaries.
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let run_end = digit_run_end(bytes, i);
        match personal_number_at(bytes, i, run_end) {
            Some(found) => {
                out.push_str(&text[copied..i]);
                out.push_str(&text[i..i + found.date_len]);
                out.push(found.separator);
                out.push_str("****");
                copied = found.end;
                i = found.end;
            }
            None => i = run_end,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Webhook signature header value: `t=<unix seconds>,v1=<lowercase hex
/// HMAC-SHA256 over "<t>.<body>">` (the Stripe scheme: the timestamp is
/// signed, so the receiver can refuse a replay by its age).
pub fn sign_webhook(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        // HMAC hashes long keys and pads short ones, so no length is refused.
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let signature = hex::encode(mac.finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

/// Delay before retry number `attempts` (1 = first retry; 0 is treated as
/// 1): `base * 2^(attempts-1)`, capped at `max`, plus up to 10 % jitter.
///
/// `jitter` is a draw in [0, 1) made by the caller, which keeps this pure;
/// values outside that range are clamped. The jitter is added after the cap,
/// so that senders that have all reached the cap still spread out; the
/// result is therefore at most `max * 1.1`.
pub fn retry_delay(attempts: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1);
    let delay = 2u32
        .checked_pow(doublings)
        .and_then(|factor| base.checked_mul(factor))
        .map_or(max, |delay| delay.min(max));
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let extra =
        Duration::try_from_secs_f64(delay.as_secs_f64() * 0.1 * jitter).unwrap_or(Duration::ZERO);
    delay.saturating_add(extra)
}

// ---------------------------------------------------------------------------
// Drafting: what each occasion says, independent of the channel.

/// A letter's content as channel-neutral blocks; every string in a block is
/// escaped when rendered to HTML, so no block may contain markup.
struct Draft {
    subject: String,
    blocks: Vec<Block>,
    sms: SmsDraft,
}

enum Block {
    /// Must be read before anything else (emergency advice).
    Alert(String),
    Paragraph(String),
    /// Text a person wrote (handler message, referral text).
    Quote(String),
    Fields(Vec<(&'static str, String)>),
    Link {
        label: &'static str,
        url: String,
    },
    List {
        intro: &'static str,
        items: Vec<String>,
    },
}

struct SmsDraft {
    alert: Option<&'static str>,
    /// What happened, with the reference; no final punctuation, since either
    /// the detail (after ": ") or a full stop follows.
    status: String,
    /// The person-written text, shortened to fit.
    detail: Option<String>,
    /// Whole sentences after the detail, dropped first when space is short.
    extra: Option<String>,
    link_label: &'static str,
    /// Replaces `status` when the SMS must be discreet, if `status` names
    /// more than the kind of news.
    discreet_status: Option<String>,
}

impl SmsDraft {
    fn discreet(&self) -> SmsDraft {
        SmsDraft {
            alert: self.alert,
            status: self
                .discreet_status
                .clone()
                .unwrap_or_else(|| self.status.clone()),
            detail: None,
            extra: self.extra.clone(),
            link_label: self.link_label,
            discreet_status: None,
        }
    }
}

fn draft(occasion: &Occasion, ctx: &LetterContext) -> Draft {
    let lang = ctx.language;
    let reference = ctx.reference;
    let mut blocks = Vec::new();
    let mut sms = SmsDraft {
        alert: None,
        status: String::new(),
        detail: None,
        extra: None,
        link_label: tr(lang, "Läs mer:", "Read more:"),
        discreet_status: None,
    };
    let subject: String;

    match occasion {
        Occasion::Received {
            tracking_code,
            outcome,
            resolve_due,
            emergency_advice,
            refused_attachments,
        } => {
            let due = format_date(*resolve_due, lang);
            let advice = emergency_advice
                .as_deref()
                .map(clean)
                .filter(|a| !a.is_empty());
            subject = match (&advice, lang) {
                (None, Language::Sv) => "vi har tagit emot det".to_owned(),
                (None, Language::En) => "received".to_owned(),
                (Some(_), Language::Sv) => "vi har tagit emot det – vid fara, ring 112".to_owned(),
                (Some(_), Language::En) => "received – if anyone is in danger, call 112".to_owned(),
            };
            if let Some(advice) = advice {
                blocks.push(Block::Alert(format!(
                    "{} {advice}",
                    tr(lang, "VIKTIGT:", "IMPORTANT:")
                )));
                sms.alert = Some(tr(
                    lang,
                    "Är någon i fara? Ring 112 nu.",
                    "Is anyone in danger? Call 112 now.",
                ));
            }
            blocks.push(greeting(lang));
            blocks.push(Block::Paragraph(match lang {
                Language::Sv => format!(
                    "Tack för att du kontaktade {}. Vi har tagit emot ditt ärende.",
                    ctx.municipality
                ),
                Language::En => format!(
                    "Thank you for contacting {}. We have received your request.",
                    ctx.municipality
                ),
            }));

            // A referral is the whole answer, so it comes before the
            // bookkeeping.
            if let ReceiptOutcome::Referred { message } = outcome {
                let message = clean(message);
                blocks.push(Block::Paragraph(
                    tr(
                        lang,
                        "Ditt ärende gäller något som en annan myndighet ansvarar för. Så här kommer du vidare:",
                        "Your request concerns something another authority is responsible for. This is how to get help:",
                    )
                    .to_owned(),
                ));
                push_quote(&mut blocks, &message);
                sms.status = match lang {
                    Language::Sv => format!("Ditt ärende {reference} hör till en annan myndighet"),
                    Language::En => format!("Your request {reference} is for another authority"),
                };
                sms.detail = Some(message);
            } else {
                sms.status = match lang {
                    Language::Sv => format!("Vi har tagit emot ditt ärende {reference}"),
                    Language::En => format!("We have received your request {reference}"),
                };
                sms.extra = Some(match lang {
                    Language::Sv => format!("Svar väntas senast {due}."),
                    Language::En => format!("Expected answer by {due}."),
                });
            }

            let mut fields = vec![(tr(lang, "Ärendenummer", "Reference"), reference.to_owned())];
            if let Some(code) = tracking_code {
                fields.push((tr(lang, "Spårningskod", "Tracking code"), code.clone()));
            }
            blocks.push(Block::Fields(fields));
            if tracking_code.is_some() {
                blocks.push(Block::Paragraph(
                    tr(
                        lang,
                        "Spara spårningskoden och dela den inte med andra. Du behöver den tillsammans med ärendenumret för att följa ditt ärende, och vi kan inte visa den igen.",
                        "Keep the tracking code and do not share it. You need it together with the reference to follow your request, and we cannot show it again.",
                    )
                    .to_owned(),
                ));
            }
            blocks.push(status_link(lang, ctx));

            match outcome {
                ReceiptOutcome::Queued { administration } => {
                    blocks.push(Block::Paragraph(match lang {
                        Language::Sv => format!(
                            "Ditt ärende har skickats till {}, som handlägger det. Vi räknar med att du får svar senast {due}.",
                            clean(administration)
                        ),
                        Language::En => format!(
                            "Your request has been passed to {}, which will handle it. We expect to answer by {due}.",
                            clean(administration)
                        ),
                    }));
                }
                ReceiptOutcome::Triage => {
                    blocks.push(Block::Paragraph(match lang {
                        Language::Sv => format!(
                            "En medarbetare läser ditt ärende och skickar det vidare till den förvaltning som ska handlägga det. Vi räknar med att du får svar senast {due}."
                        ),
                        Language::En => format!(
                            "A member of staff will read your request and pass it to the department that handles it. We expect to answer by {due}."
                        ),
                    }));
                }
                ReceiptOutcome::Referred { .. } => {}
            }

            let refused: Vec<String> = refused_attachments
                .iter()
                .map(|line| clean(line))
                .filter(|line| !line.is_empty())
                .collect();
            if !refused.is_empty() {
                blocks.push(Block::List {
                    intro: tr(
                        lang,
                        "Vi kunde inte ta emot de här bilagorna:",
                        "We could not accept these attachments:",
                    ),
                    items: refused,
                });
                let note = tr(
                    lang,
                    "Vissa bilagor kunde inte tas emot.",
                    "Some attachments could not be accepted.",
                );
                sms.extra = Some(match sms.extra.take() {
                    Some(extra) => format!("{extra} {note}"),
                    None => note.to_owned(),
                });
            }

            blocks.push(Block::Paragraph(
                if matches!(outcome, ReceiptOutcome::Referred { .. }) {
                    referral_objection(lang)
                } else {
                    reply_to_add(lang)
                }
                .to_owned(),
            ));
        }

        Occasion::Routed {
            administration,
            resolve_due,
        } => {
            let administration = clean(administration);
            let due = format_date(*resolve_due, lang);
            subject = tr(
                lang,
                "skickat vidare till rätt förvaltning",
                "passed on to the right department",
            )
            .to_owned();
            blocks.push(greeting(lang));
            blocks.push(Block::Paragraph(match lang {
                Language::Sv => format!(
                    "Ditt ärende {reference} handläggs nu av {administration}. Vi räknar med att du får svar senast {due}."
                ),
                Language::En => format!(
                    "Your request {reference} is now being handled by {administration}. We expect to answer by {due}."
                ),
            }));
            blocks.push(status_link(lang, ctx));
            blocks.push(Block::Paragraph(reply_to_add(lang).to_owned()));
            sms.status = match lang {
                Language::Sv => {
                    format!("Ditt ärende {reference} handläggs nu av {administration}")
                }
                Language::En => {
                    format!("Your request {reference} is now handled by {administration}")
                }
            };
            sms.discreet_status = Some(match lang {
                Language::Sv => format!("Ditt ärende {reference} har skickats vidare"),
                Language::En => format!("Your request {reference} has been passed on"),
            });
            sms.extra = Some(match lang {
                Language::Sv => format!("Svar väntas senast {due}."),
                Language::En => format!("Expected answer by {due}."),
            });
        }

        Occasion::Question { message } => {
            let message = clean(message);
            subject = tr(
                lang,
                "vi behöver mer information",
                "we need more information",
            )
            .to_owned();
            blocks.push(greeting(lang));
            blocks.push(Block::Paragraph(match lang {
                Language::Sv => format!(
                    "Vi behöver mer information från dig för att kunna fortsätta med ditt ärende {reference}. Handläggaren skriver:"
                ),
                Language::En => format!(
                    "We need more information from you to continue with your request {reference}. The case handler writes:"
                ),
            }));
            push_quote(&mut blocks, &message);
            blocks.push(Block::Paragraph(
                tr(
                    lang,
                    "Svara på det här mejlet eller via länken nedan. Vi väntar med ärendet tills du har svarat. Om vi inte hör något från dig kan ärendet komma att avslutas.",
                    "Reply to this e-mail or through the link below. We will wait for your answer before we continue. If we do not hear from you, the request may be closed.",
                )
                .to_owned(),
            ));
            blocks.push(status_link(lang, ctx));
            sms.status = match lang {
                Language::Sv => format!("Vi behöver mer information om ditt ärende {reference}"),
                Language::En => format!("We need more information about your request {reference}"),
            };
            sms.detail = Some(message);
            sms.link_label = tr(lang, "Läs och svara:", "Read and reply:");
        }

        Occasion::Message { message } => {
            let message = clean(message);
            subject = tr(lang, "nytt meddelande", "new message").to_owned();
            blocks.push(greeting(lang));
            blocks.push(Block::Paragraph(match lang {
                Language::Sv => format!("Du har fått ett meddelande om ditt ärende {reference}:"),
                Language::En => format!("You have a new message about your request {reference}:"),
            }));
            push_quote(&mut blocks, &message);
            blocks.push(status_link(lang, ctx));
            blocks.push(Block::Paragraph(reply_to_add(lang).to_owned()));
            sms.status = match lang {
                Language::Sv => format!("Nytt meddelande om ditt ärende {reference}"),
                Language::En => format!("New message about your request {reference}"),
            };
            sms.detail = Some(message);
        }

        Occasion::Resolved { message } => {
            let message = clean(message);
            subject = tr(lang, "klart", "resolved").to_owned();
            blocks.push(greeting(lang));
            blocks.push(Block::Paragraph(match lang {
                Language::Sv => {
                    format!("Vi är klara med ditt ärende {reference}. Handläggaren skriver:")
                }
                Language::En => format!(
                    "We have finished handling your request {reference}. The case handler writes:"
                ),
            }));
            push_quote(&mut blocks, &message);
            blocks.push(status_link(lang, ctx));
            blocks.push(Block::Paragraph(
                tr(
                    lang,
                    "Om något inte stämmer eller om du har frågor om svaret, svara på det här mejlet. Då öppnar vi ärendet igen.",
                    "If something is not right or you have questions about the answer, reply to this e-mail and we will reopen your request.",
                )
                .to_owned(),
            ));
            sms.status = match lang {
                Language::Sv => format!("Ditt ärende {reference} är klart"),
                Language::En => format!("Your request {reference} is resolved"),
            };
            sms.detail = Some(message);
        }

        Occasion::Referred { message } => {
            let message = clean(message);
            subject = tr(lang, "hör till en annan myndighet", "for another authority").to_owned();
            blocks.push(greeting(lang));
            blocks.push(Block::Paragraph(match lang {
                Language::Sv => format!(
                    "Ditt ärende {reference} gäller något som en annan myndighet ansvarar för, så vi kan inte handlägga det. Så här kommer du vidare:"
                ),
                Language::En => format!(
                    "Your request {reference} concerns something another authority is responsible for, so we cannot handle it. This is how to get help:"
                ),
            }));
            push_quote(&mut blocks, &message);
            blocks.push(status_link(lang, ctx));
            blocks.push(Block::Paragraph(referral_objection(lang).to_owned()));
            sms.status = match lang {
                Language::Sv => format!("Ditt ärende {reference} hör till en annan myndighet"),
                Language::En => format!("Your request {reference} is for another authority"),
            };
            sms.detail = Some(message);
        }

        Occasion::Closed {
            message,
            automatically,
        } => {
            let message = message.as_deref().map(clean).filter(|m| !m.is_empty());
            subject = tr(lang, "avslutat", "closed").to_owned();
            blocks.push(greeting(lang));
            let mut opening = match (lang, automatically) {
                (Language::Sv, true) => format!(
                    "Vi har avslutat ditt ärende {reference} eftersom vi inte har fått något svar från dig sedan vi blev klara med det."
                ),
                (Language::En, true) => format!(
                    "We have closed your request {reference} because we have not heard from you since we resolved it."
                ),
                (Language::Sv, false) => format!("Vi har avslutat ditt ärende {reference}."),
                (Language::En, false) => format!("We have closed your request {reference}."),
            };
            if let Some(message) = &message {
                opening.push(' ');
                opening.push_str(tr(
                    lang,
                    "Handläggaren skriver:",
                    "The case handler writes:",
                ));
                blocks.push(Block::Paragraph(opening));
                push_quote(&mut blocks, message);
            } else {
                blocks.push(Block::Paragraph(opening));
            }
            blocks.push(status_link(lang, ctx));
            blocks.push(Block::Paragraph(
                tr(
                    lang,
                    "Ärendet går inte att öppna igen. Har du en ny fråga är du välkommen att kontakta oss igen.",
                    "The request cannot be reopened. If you have a new question, you are welcome to contact us again.",
                )
                .to_owned(),
            ));
            sms.status = match (lang, automatically) {
                (Language::Sv, true) => format!(
                    "Ditt ärende {reference} är avslutat eftersom vi inte har hört något från dig"
                ),
                (Language::En, true) => {
                    format!("Your request {reference} is closed because we have not heard from you")
                }
                (Language::Sv, false) => format!("Ditt ärende {reference} är avslutat"),
                (Language::En, false) => format!("Your request {reference} is closed"),
            };
            sms.detail = message;
        }
    }

    blocks.push(Block::Paragraph(format!(
        "{}\n{}",
        tr(lang, "Med vänliga hälsningar", "Kind regards"),
        ctx.municipality
    )));
    sms.detail = sms.detail.filter(|d| !d.is_empty());
    Draft {
        subject,
        blocks,
        sms,
    }
}

fn tr(lang: Language, sv: &'static str, en: &'static str) -> &'static str {
    match lang {
        Language::Sv => sv,
        Language::En => en,
    }
}

fn greeting(lang: Language) -> Block {
    Block::Paragraph(tr(lang, "Hej!", "Hello,").to_owned())
}

fn status_link(lang: Language, ctx: &LetterContext) -> Block {
    Block::Link {
        label: tr(
            lang,
            "Här kan du följa ditt ärende:",
            "Follow your request here:",
        ),
        url: ctx.status_url.to_owned(),
    }
}

fn reply_to_add(lang: Language) -> &'static str {
    tr(
        lang,
        "Svara på det här mejlet om du vill lägga till något.",
        "Reply to this e-mail if you want to add anything.",
    )
}

fn referral_objection(lang: Language) -> &'static str {
    tr(
        lang,
        "Om du tycker att vi har bedömt fel, svara på det här mejlet så tittar vi på det igen.",
        "If you think we have got this wrong, reply to this e-mail and we will look at it again.",
    )
}

fn push_quote(blocks: &mut Vec<Block>, message: &str) {
    if !message.is_empty() {
        blocks.push(Block::Quote(message.to_owned()));
    }
}

/// Prepares text a person typed: personal numbers masked, line endings
/// unified (so HTML line breaks and text quoting see one kind), and outer
/// blank space removed.
fn clean(raw: &str) -> String {
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    mask_personal_numbers(unified.trim())
}

/// A header must be one line, or a crafted value could add headers.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn format_date(date: NaiveDate, lang: Language) -> String {
    const SV: [&str; 12] = [
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let names = match lang {
        Language::Sv => &SV,
        Language::En => &EN,
    };
    // month0() is 0..=11 by construction of NaiveDate.
    let month = names.get(date.month0() as usize).copied().unwrap_or("");
    format!("{} {month} {}", date.day(), date.year())
}

// ---------------------------------------------------------------------------
// Rendering.

fn render_text(blocks: &[Block]) -> String {
    let mut parts = Vec::with_capacity(blocks.len());
    for block in blocks {
        parts.push(match block {
            Block::Alert(text) | Block::Paragraph(text) => text.clone(),
            Block::Quote(text) => text
                .lines()
                .map(|line| {
                    if line.is_empty() {
                        ">".to_owned()
                    } else {
                        format!("> {line}")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Fields(fields) => fields
                .iter()
                .map(|(label, value)| format!("{label}: {value}"))
                .collect::<Vec<_>>()
                .join("\n"),
            // The URL on a line of its own: clients then link all of it and
            // none of the label's punctuation.
            Block::Link { label, url } => format!("{label}\n{url}"),
            Block::List { intro, items } => {
                let mut out = (*intro).to_owned();
                for item in items {
                    out.push_str("\n- ");
                    out.push_str(item);
                }
                out
            }
        });
    }
    let mut text = parts.join("\n\n");
    text.push('\n');
    text
}

fn render_html(lang: Language, subject: &str, blocks: &[Block]) -> String {
    html_document(lang, subject, &html_body(blocks))
}

fn html_body(blocks: &[Block]) -> String {
    let mut body = String::new();
    for block in blocks {
        let html = match block {
            Block::Alert(text) => format!("<p><strong>{}</strong></p>", html_lines(text)),
            Block::Paragraph(text) => format!("<p>{}</p>", html_lines(text)),
            Block::Quote(text) => format!("<blockquote><p>{}</p></blockquote>", html_lines(text)),
            Block::Fields(fields) => {
                let lines: Vec<String> = fields
                    .iter()
                    .map(|(label, value)| {
                        format!(
                            "{}: <strong>{}</strong>",
                            escape_html(label),
                            escape_html(value)
                        )
                    })
                    .collect();
                format!("<p>{}</p>", lines.join("<br>\n"))
            }
            Block::Link { label, url } => {
                let shown = escape_html(url);
                // Only web addresses become links; anything else (a
                // misconfigured "javascript:" URL, say) stays inert text.
                let link = if is_web_url(url) {
                    format!("<a href=\"{shown}\">{shown}</a>")
                } else {
                    shown
                };
                format!("<p>{}<br>\n{link}</p>", escape_html(label))
            }
            Block::List { intro, items } => {
                let items: String = items
                    .iter()
                    .map(|item| format!("<li>{}</li>\n", escape_html(item)))
                    .collect();
                format!("<p>{}</p>\n<ul>\n{items}</ul>", escape_html(intro))
            }
        };
        body.push_str(&html);
        body.push('\n');
    }
    body
}

fn html_document(lang: Language, subject: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n</head>\n<body>\n{body}</body>\n</html>\n",
        lang.code(),
        escape_html(subject)
    )
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes, then keeps the writer's line breaks.
fn html_lines(text: &str) -> String {
    escape_html(text).replace('\n', "<br>\n")
}

fn is_web_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// Fits the SMS into [`SMS_MAX_CHARS`]. The reference and the link are what
/// the resident needs to act, so they are never shortened: the detail is cut
/// first, then the extra sentences and the municipality's name are dropped.
/// Only a link that alone is too long can make the SMS exceed the limit.
fn render_sms(ctx: &LetterContext, sms: &SmsDraft) -> String {
    let link = format!("{} {}", sms.link_label, ctx.status_url);
    let named = format!("{}: {}", ctx.municipality, sms.status);
    let candidates = [
        (named.as_str(), sms.extra.as_deref()),
        (sms.status.as_str(), sms.extra.as_deref()),
        (sms.status.as_str(), None),
    ];
    for (lead, extra) in candidates {
        let lead = match sms.alert {
            Some(alert) => format!("{alert} {lead}"),
            None => lead.to_owned(),
        };
        let bare = assemble_sms(&lead, None, extra, &link);
        let bare_len = bare.chars().count();
        if bare_len > SMS_MAX_CHARS {
            continue;
        }
        let Some(detail) = &sms.detail else {
            return bare;
        };
        let room = SMS_MAX_CHARS - bare_len;
        if room < 2 + MIN_SMS_DETAIL {
            return bare;
        }
        let detail = single_line(detail);
        // One char of the room goes to ": " beyond the "." it replaces; a
        // detail that ends without punctuation needs one more for its ".".
        let fitted = [room - 1, room - 2].into_iter().find_map(|budget| {
            let sms = assemble_sms(&lead, Some(&truncate_chars(&detail, budget)), extra, &link);
            (sms.chars().count() <= SMS_MAX_CHARS).then_some(sms)
        });
        return fitted.unwrap_or(bare);
    }
    one_line(&format!("{} {}", ctx.reference, ctx.status_url))
}

/// A shorter fragment of a message says nothing useful.
const MIN_SMS_DETAIL: usize = 12;

fn assemble_sms(lead: &str, detail: Option<&str>, extra: Option<&str>, link: &str) -> String {
    let mut out = lead.to_owned();
    match detail {
        Some(detail) => {
            out.push_str(": ");
            out.push_str(detail);
            if !detail.ends_with(['.', '!', '?', '…', ':']) {
                out.push('.');
            }
        }
        None => out.push('.'),
    }
    if let Some(extra) = extra {
        out.push(' ');
        out.push_str(extra);
    }
    out.push(' ');
    out.push_str(link);
    one_line(&out)
}

/// An SMS has no room for paragraphs.
fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` chars, ending in "…" when cut; prefers to cut between words
/// when a space is near the end.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let kept: String = text.chars().take(max - 1).collect();
    let kept_len = kept.chars().count();
    let cut = match kept.rfind(' ') {
        Some(space) if kept_len - kept[..space].chars().count() <= 20 => &kept[..space],
        _ => kept.as_str(),
    };
    format!("{}…", cut.trim_end())
}

// ---------------------------------------------------------------------------
// Personal numbers.

struct Found {
    /// Digits kept: 8 (YYYYMMDD) or 6 (YYMMDD).
    date_len: usize,
    separator: char,
    /// Byte position just after the number.
    end: usize,
}

fn digit_run_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(bytes.len(), |len| start + len)
}

/// `start` begins a maximal run of digits ending at `run_end`.
fn personal_number_at(bytes: &[u8], start: usize, run_end: usize) -> Option<Found> {
    let run = &bytes[start..run_end];
    match run.len() {
        12 if plausible_date(&run[..8]) => Some(Found {
            date_len: 8,
            separator: '-',
            end: run_end,
        }),
        10 if plausible_date(&run[..6]) && luhn_valid(run) => Some(Found {
            date_len: 6,
            separator: '-',
            end: run_end,
        }),
        8 | 6 if plausible_date(run) => {
            let separator = match bytes.get(run_end) {
                Some(b'-') => '-',
                Some(b'+') => '+',
                _ => return None,
            };
            let last_start = run_end + 1;
            let last_end = bytes
                .get(last_start)
                .filter(|b| b.is_ascii_digit())
                .map(|_| digit_run_end(bytes, last_start))?;
            (last_end - last_start == 4).then_some(Found {
                date_len: run.len(),
                separator,
                end: last_end,
            })
        }
        _ => None,
    }
}

/// YYYYMMDD (century 18–20) or YYMMDD, with the coordination-number day.
fn plausible_date(digits: &[u8]) -> bool {
    let pair = |i: usize| u32::from(digits[i] - b'0') * 10 + u32::from(digits[i + 1] - b'0');
    let month_at = match digits.len() {
        8 if (18..=20).contains(&pair(0)) => 4,
        6 => 2,
        _ => return false,
    };
    let month = pair(month_at);
    let day = pair(month_at + 2);
    (1..=12).contains(&month) && ((1..=31).contains(&day) || (61..=91).contains(&day))
}

/// The check digit of a ten-digit personal number (Luhn over the first nine).
fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits[..9]
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let value = u32::from(d - b'0') * if i % 2 == 0 { 2 } else { 1 };
            value / 10 + value % 10
        })
        .sum();
    (10 - sum % 10) % 10 == u32::from(digits[9] - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = "EVI-2026-004217-3";
    const URL: &str = "https://exempelby.se/arenden/EVI-2026-004217-3?kod=K7QM-2XPR-9HTW-4CNB";

    fn ctx(language: Language) -> LetterContext<'static> {
        LetterContext {
            reference: REFERENCE,
            language,
            municipality: "Exempelby kommun",
            status_url: URL,
        }
    }

    fn due() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).expect("valid date")
    }

    fn receipt(outcome: ReceiptOutcome) -> Occasion {
        Occasion::Received {
            tracking_code: Some("K7QM-2XPR-9HTW-4CNB".to_owned()),
            outcome,
            resolve_due: due(),
            emergency_advice: None,
            refused_attachments: Vec::new(),
        }
    }

    fn every_occasion() -> Vec<Occasion> {
        vec![
            receipt(ReceiptOutcome::Queued {
                administration: "Tekniska förvaltningen".to_owned(),
            }),
            receipt(ReceiptOutcome::Triage),
            receipt(ReceiptOutcome::Referred {
                message: "Kontakta Trafikverket på 0771-921 921.".to_owned(),
            }),
            Occasion::Received {
                tracking_code: None,
                outcome: ReceiptOutcome::Triage,
                resolve_due: due(),
                emergency_advice: Some("Ring 112 om någon är i fara.".to_owned()),
                refused_attachments: vec!["bild.exe: filtypen tas inte emot".to_owned()],
            },
            Occasion::Routed {
                administration: "Samhällsbyggnadsförvaltningen".to_owned(),
                resolve_due: due(),
            },
            Occasion::Question {
                message: "Vilken gatuadress gäller det?".to_owned(),
            },
            Occasion::Message {
                message: "Handläggningen dröjer eftersom vi väntar på ett yttrande.".to_owned(),
            },
            Occasion::Resolved {
                message: "Gatlampan är lagad.".to_owned(),
            },
            Occasion::Referred {
                message: "Kontakta Polisen på 114 14.".to_owned(),
            },
            Occasion::Closed {
                message: None,
                automatically: true,
            },
            Occasion::Closed {
                message: Some("Ärendet är återkallat.".to_owned()),
                automatically: false,
            },
        ]
    }

    #[test]
    fn a_letter_in_both_languages_holds_each_whole_the_residents_first() {
        for language in [Language::Sv, Language::En] {
            for occasion in every_occasion() {
                let both = compose_in_both(&occasion, &ctx(language));
                let sv = compose(&occasion, &ctx(Language::Sv));
                let en = compose(&occasion, &ctx(Language::En));
                let (first, second) = match language {
                    Language::Sv => (&sv, &en),
                    Language::En => (&en, &sv),
                };
                assert!(both.text.starts_with(&first.text), "{occasion:?}");
                assert!(both.text.ends_with(&second.text), "{occasion:?}");
                assert!(both.subject.starts_with(&first.subject), "{occasion:?}");
                assert!(both.subject.contains(&second.subject), "{occasion:?}");
                assert!(!both.subject.contains('\n'));
                assert_eq!(both.sms, first.sms);
                assert!(
                    both.html
                        .contains(&format!("<html lang=\"{}\">", language.code()))
                );
            }
        }
    }

    #[test]
    fn every_subject_contains_the_reference_in_both_languages() {
        for language in [Language::Sv, Language::En] {
            for occasion in every_occasion() {
                let letter = compose(&occasion, &ctx(language));
                assert!(
                    letter.subject.contains(REFERENCE),
                    "{language:?} {occasion:?}: {}",
                    letter.subject
                );
                assert!(!letter.subject.contains('\n'));
                assert!(letter.text.contains(URL), "{occasion:?}");
                assert!(letter.sms.contains(URL), "{occasion:?}");
                assert!(letter.sms.contains(REFERENCE), "{occasion:?}");
                assert!(letter.sms.chars().count() <= SMS_MAX_CHARS);
                assert!(letter.sms_discreet.contains(URL), "{occasion:?}");
                assert!(letter.sms_discreet.contains(REFERENCE), "{occasion:?}");
                assert!(letter.sms_discreet.chars().count() <= SMS_MAX_CHARS);
                assert!(
                    letter
                        .html
                        .contains(&format!("<html lang=\"{}\">", language.code()))
                );
            }
        }
    }

    #[test]
    fn a_reply_keeps_the_reference_in_its_subject() {
        let letter = compose(&receipt(ReceiptOutcome::Triage), &ctx(Language::Sv));
        assert_eq!(
            letter.subject,
            "Ditt ärende EVI-2026-004217-3: vi har tagit emot det"
        );
        assert!(format!("SV: {}", letter.subject).contains(REFERENCE));
        let letter = compose(&receipt(ReceiptOutcome::Triage), &ctx(Language::En));
        assert_eq!(letter.subject, "Your request EVI-2026-004217-3: received");
    }

    #[test]
    fn the_receipt_gives_tracking_code_link_due_date_and_next_step() {
        let occasion = receipt(ReceiptOutcome::Queued {
            administration: "Tekniska förvaltningen".to_owned(),
        });
        let letter = compose(&occasion, &ctx(Language::Sv));
        for expected in [
            REFERENCE,
            "K7QM-2XPR-9HTW-4CNB",
            "Spara spårningskoden",
            URL,
            "27 november 2026",
            "Tekniska förvaltningen",
            "Svara på det här mejlet om du vill lägga till något",
        ] {
            assert!(letter.text.contains(expected), "text lacks {expected}");
            assert!(letter.html.contains(expected), "html lacks {expected}");
        }
        assert!(letter.sms.contains("27 november 2026"));

        let letter = compose(&occasion, &ctx(Language::En));
        assert!(letter.text.contains("27 November 2026"));
        assert!(letter.text.contains("Keep the tracking code"));
    }

    #[test]
    fn a_receipt_without_tracking_code_does_not_mention_one() {
        let occasion = Occasion::Received {
            tracking_code: None,
            outcome: ReceiptOutcome::Triage,
            resolve_due: due(),
            emergency_advice: None,
            refused_attachments: Vec::new(),
        };
        let letter = compose(&occasion, &ctx(Language::Sv));
        assert!(!letter.text.contains("Spårningskod"));
        assert!(letter.text.contains("En medarbetare läser ditt ärende"));
    }

    #[test]
    fn a_referral_receipt_shows_the_referral_before_the_bookkeeping() {
        let occasion = receipt(ReceiptOutcome::Referred {
            message: "Kontakta Trafikverket.".to_owned(),
        });
        let letter = compose(&occasion, &ctx(Language::Sv));
        let referral = letter.text.find("> Kontakta Trafikverket.");
        let reference = letter.text.find("Ärendenummer");
        assert!(
            referral.is_some() && referral < reference,
            "{}",
            letter.text
        );
        assert!(letter.sms.contains("Kontakta Trafikverket."));
    }

    #[test]
    fn emergency_advice_comes_before_everything_else() {
        let occasion = Occasion::Received {
            tracking_code: Some("K7QM-2XPR-9HTW-4CNB".to_owned()),
            outcome: ReceiptOutcome::Triage,
            resolve_due: due(),
            emergency_advice: Some("Ring 112 nu om någon är skadad.".to_owned()),
            refused_attachments: Vec::new(),
        };
        let letter = compose(&occasion, &ctx(Language::Sv));
        assert!(
            letter
                .text
                .starts_with("VIKTIGT: Ring 112 nu om någon är skadad."),
            "{}",
            letter.text
        );
        let body = letter.html.find("<body>").expect("has body");
        let first = &letter.html[body..];
        assert!(
            first.starts_with("<body>\n<p><strong>VIKTIGT: Ring 112 nu"),
            "{first}"
        );
        assert!(letter.sms.starts_with("Är någon i fara? Ring 112 nu."));
        assert!(letter.subject.contains("112"));
    }

    #[test]
    fn refused_attachments_are_listed() {
        let occasion = Occasion::Received {
            tracking_code: None,
            outcome: ReceiptOutcome::Triage,
            resolve_due: due(),
            emergency_advice: None,
            refused_attachments: vec![
                "faktura.exe: filtypen tas inte emot".to_owned(),
                "film.mov: filen är större än 10 MB".to_owned(),
            ],
        };
        let letter = compose(&occasion, &ctx(Language::Sv));
        assert!(letter.text.contains(
            "Vi kunde inte ta emot de här bilagorna:\n- faktura.exe: filtypen tas inte emot\n- film.mov"
        ));
        assert!(
            letter
                .html
                .contains("<li>film.mov: filen är större än 10 MB</li>")
        );
    }

    #[test]
    fn html_escapes_a_script_in_a_handler_message() {
        let occasion = Occasion::Message {
            message: "<script>alert('x')</script> & \"mer\"\nrad två".to_owned(),
        };
        let letter = compose(&occasion, &ctx(Language::Sv));
        assert!(!letter.html.contains("<script"));
        assert!(letter.html.contains(
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;mer&quot;<br>\nrad två"
        ));
        assert!(letter.text.contains("> <script>alert('x')</script>"));
        assert!(letter.text.contains("\n> rad två"));
    }

    #[test]
    fn html_is_a_complete_document_without_external_resources() {
        let letter = compose(&receipt(ReceiptOutcome::Triage), &ctx(Language::En));
        assert!(
            letter
                .html
                .starts_with("<!DOCTYPE html>\n<html lang=\"en\">")
        );
        assert!(letter.html.trim_end().ends_with("</html>"));
        assert!(letter.html.contains(&format!("<a href=\"{URL}\">")));
        for forbidden in ["<script", "<img", "<link", "src=", "style"] {
            assert!(!letter.html.contains(forbidden), "{forbidden}");
        }
    }

    #[test]
    fn a_status_url_that_is_not_a_web_address_is_not_linked() {
        let context = LetterContext {
            status_url: "javascript:alert(1)",
            ..ctx(Language::Sv)
        };
        let letter = compose(
            &Occasion::Resolved {
                message: "Klart.".to_owned(),
            },
            &context,
        );
        assert!(!letter.html.contains("href"));
    }

    #[test]
    fn a_personal_number_in_a_message_is_masked_everywhere_but_a_phone_number_is_not() {
        let occasion = Occasion::Question {
            message: "Gäller det 19811218-9876? Ring 0701234567 eller 070-123 45 67.".to_owned(),
        };
        for language in [Language::Sv, Language::En] {
            let letter = compose(&occasion, &ctx(language));
            for (channel, body) in [
                ("text", &letter.text),
                ("html", &letter.html),
                ("sms", &letter.sms),
            ] {
                assert!(!body.contains("9876"), "{channel}: {body}");
                assert!(body.contains("19811218-****"), "{channel}");
                assert!(body.contains("0701234567"), "{channel}");
                assert!(body.contains("070-123 45 67"), "{channel}");
            }
        }
    }

    #[test]
    fn referral_text_emergency_advice_and_attachment_names_are_masked_too() {
        let occasion = Occasion::Received {
            tracking_code: None,
            outcome: ReceiptOutcome::Referred {
                message: "Skatteverket om 811218-9876".to_owned(),
            },
            resolve_due: due(),
            emergency_advice: Some("Ring 112 (8112189876)".to_owned()),
            refused_attachments: vec!["intyg_198112189876.exe: fel filtyp".to_owned()],
        };
        let letter = compose(&occasion, &ctx(Language::Sv));
        for body in [&letter.text, &letter.html, &letter.sms] {
            assert!(!body.contains("9876"), "{body}");
        }
    }

    #[test]
    fn an_sms_with_a_huge_message_stays_within_320_chars_and_keeps_the_whole_link() {
        let message = "Vi behöver veta exakt var lampan står och när den slutade lysa. ".repeat(80);
        assert!(message.chars().count() >= 5_000);
        for language in [Language::Sv, Language::En] {
            let letter = compose(
                &Occasion::Question {
                    message: message.clone(),
                },
                &ctx(language),
            );
            assert!(
                letter.sms.chars().count() <= SMS_MAX_CHARS,
                "{}",
                letter.sms
            );
            assert!(letter.sms.ends_with(URL), "{}", letter.sms);
            assert!(letter.sms.contains(REFERENCE));
            assert!(letter.sms.contains("Vi behöver veta exakt"));
            assert!(letter.sms.contains('…'));
        }
    }

    #[test]
    fn an_sms_cuts_a_message_without_spaces_on_a_char_boundary() {
        let message = "å".repeat(5_000);
        let letter = compose(&Occasion::Message { message }, &ctx(Language::Sv));
        assert_eq!(letter.sms.chars().count(), SMS_MAX_CHARS);
        assert!(letter.sms.contains("åå…"));
    }

    #[test]
    fn an_sms_drops_the_municipality_before_it_would_cut_the_link() {
        let long_url = format!("https://exempelby.se/{}", "a".repeat(250));
        let context = LetterContext {
            status_url: &long_url,
            ..ctx(Language::Sv)
        };
        let letter = compose(
            &Occasion::Resolved {
                message: "Klart.".to_owned(),
            },
            &context,
        );
        assert!(
            letter.sms.chars().count() <= SMS_MAX_CHARS,
            "{}",
            letter.sms
        );
        assert!(letter.sms.ends_with(&long_url));
        assert!(letter.sms.contains(REFERENCE));
    }

    #[test]
    fn the_discreet_sms_carries_neither_message_nor_administration() {
        let letter = compose(
            &Occasion::Resolved {
                message: "Beslut om försörjningsstöd".to_owned(),
            },
            &ctx(Language::Sv),
        );
        assert!(!letter.sms_discreet.contains("försörjningsstöd"));
        assert!(letter.sms_discreet.contains("är klart"));
        assert!(letter.sms.contains("försörjningsstöd"));
        assert!(letter.text.contains("försörjningsstöd"));
        let letter = compose(
            &Occasion::Routed {
                administration: "Socialförvaltningen".to_owned(),
                resolve_due: due(),
            },
            &ctx(Language::Sv),
        );
        assert!(!letter.sms_discreet.contains("Socialförvaltningen"));
        assert!(letter.sms.contains("Socialförvaltningen"));
    }

    #[test]
    fn an_automatic_close_says_no_reply_came_after_it_was_resolved() {
        let occasion = Occasion::Closed {
            message: None,
            automatically: true,
        };
        let sv = compose(&occasion, &ctx(Language::Sv));
        assert!(
            sv.text
                .contains("inte har fått något svar från dig sedan vi blev klara")
        );
        let en = compose(&occasion, &ctx(Language::En));
        assert!(en.text.contains("not heard from you since we resolved it"));
        assert_eq!(en.subject, "Your request EVI-2026-004217-3: closed");
    }

    #[test]
    fn dates_are_written_out_in_the_residents_language() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 5).expect("valid date");
        assert_eq!(format_date(date, Language::Sv), "5 mars 2026");
        assert_eq!(format_date(date, Language::En), "5 March 2026");
        assert_eq!(format_date(due(), Language::Sv), "27 november 2026");
    }

    #[test]
    fn twelve_and_ten_digit_numbers_are_masked_keeping_the_date() {
        assert_eq!(
            mask_personal_numbers("pnr 198112189876."),
            "pnr 19811218-****."
        );
        assert_eq!(mask_personal_numbers("pnr 8112189876"), "pnr 811218-****");
        assert_eq!(mask_personal_numbers("19811218-9876"), "19811218-****");
        assert_eq!(mask_personal_numbers("(811218-9876)"), "(811218-****)");
        assert_eq!(mask_personal_numbers("811218+9876"), "811218+****");
        assert_eq!(
            mask_personal_numbers("a 19811218-9876, b 20050505-1234"),
            "a 19811218-****, b 20050505-****"
        );
    }

    #[test]
    fn a_mistyped_number_with_a_separator_is_still_masked() {
        assert_eq!(mask_personal_numbers("811218-9877"), "811218-****");
    }

    #[test]
    fn coordination_numbers_with_day_plus_sixty_are_masked() {
        assert_eq!(mask_personal_numbers("701063-2391"), "701063-****");
        assert_eq!(mask_personal_numbers("7010632391"), "701063-****");
        assert_eq!(mask_personal_numbers("19701091-1234"), "19701091-****");
        assert_eq!(mask_personal_numbers("701092-2391"), "701092-2391");
    }

    #[test]
    fn phone_numbers_are_left_alone() {
        for phone in [
            "0701234567",
            "070-123 45 67",
            "070-1234567",
            "+46701234567",
            "+46 70 123 45 67",
            "08-123 456 78",
            "0736123456",
            "0046812345678",
        ] {
            assert_eq!(mask_personal_numbers(phone), phone);
        }
    }

    #[test]
    fn implausible_dates_are_left_alone() {
        for text in [
            "19801301-1234",
            "19800100-1234",
            "19800132-1234",
            "19800192-1234",
            "21800101-1234",
            "801301-1234",
            "EVI-2026-004217-3",
            "2026-11-27",
        ] {
            assert_eq!(mask_personal_numbers(text), text);
        }
    }

    #[test]
    fn digits_inside_a_longer_run_are_not_a_match() {
        for text in [
            "1198112189876",
            "19811218987600",
            "81121898760",
            "0811218-9876",
            "811218-98765",
            "811218-987",
        ] {
            assert_eq!(mask_personal_numbers(text), text);
        }
    }

    #[test]
    fn masking_keeps_other_text_and_non_ascii_intact() {
        assert_eq!(
            mask_personal_numbers("Åsa (198112189876) bor på Storgatan 5 – ring 112!"),
            "Åsa (19811218-****) bor på Storgatan 5 – ring 112!"
        );
        assert_eq!(mask_personal_numbers(""), "");
    }

    #[test]
    fn sign_webhook_matches_an_independent_hmac() {
        // Computed with:
        // printf '%s' '1767225600.{"event":"status_changed","reference":"EVI-2026-004217-3"}' \
        //   | openssl dgst -sha256 -hmac 'whsec_test_secret'
        let body = br#"{"event":"status_changed","reference":"EVI-2026-004217-3"}"#;
        assert_eq!(
            sign_webhook(b"whsec_test_secret", 1_767_225_600, body),
            "t=1767225600,v1=3f5143a01a6f1ad3220b1155c4d7c570cf5a5942a91b2aab5b48dfc0fb13d8e0"
        );
    }

    #[test]
    fn sign_webhook_accepts_keys_longer_than_a_block() {
        // printf '%s' '1767225600.{}' | openssl dgst -sha256 -hmac "$(printf 'k%.0s' $(seq 1 100))"
        let key = [b'k'; 100];
        assert_eq!(
            sign_webhook(&key, 1_767_225_600, b"{}"),
            "t=1767225600,v1=737be46cac74c4333abab01fba23c09d0e0d6bcc4a6b90eedeca0f0fc5663640"
        );
    }

    #[test]
    fn retry_delay_doubles_from_the_base() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(3_600);
        assert_eq!(retry_delay(1, base, max, 0.0), Duration::from_secs(30));
        assert_eq!(retry_delay(2, base, max, 0.0), Duration::from_secs(60));
        assert_eq!(retry_delay(3, base, max, 0.0), Duration::from_secs(120));
        assert_eq!(retry_delay(0, base, max, 0.0), Duration::from_secs(30));
    }

    #[test]
    fn retry_delay_is_capped_and_does_not_overflow() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(3_600);
        assert_eq!(retry_delay(8, base, max, 0.0), max);
        assert_eq!(retry_delay(200, base, max, 0.0), max);
        assert_eq!(retry_delay(u32::MAX, base, max, 0.0), max);
        assert_eq!(
            retry_delay(200, Duration::MAX, Duration::MAX, 0.99),
            Duration::MAX
        );
    }

    #[test]
    fn retry_jitter_adds_at_most_ten_percent() {
        let base = Duration::from_secs(100);
        let max = Duration::from_secs(3_600);
        assert_eq!(retry_delay(1, base, max, 0.5), Duration::from_secs(105));
        let high = retry_delay(1, base, max, 0.999_999);
        assert!(high < Duration::from_secs(110) && high > Duration::from_secs(109));
        assert!(retry_delay(200, base, max, 0.999_999) < max + max / 10);
        assert_eq!(retry_delay(1, base, max, -1.0), base);
        assert_eq!(retry_delay(1, base, max, f64::NAN), base);
        assert!(retry_delay(1, base, max, 7.0) <= Duration::from_secs(110));
    }
}
