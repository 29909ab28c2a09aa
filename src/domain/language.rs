//! Which language a resident wrote in, beyond the Swedish and English the
//! classifier is trained on. Residents also write in Arabic, Somali,
//! Persian, Finnish, Polish, Tigrinya and more; such a request must wait
//! for a person rather than be routed on words the model cannot read.
//!
//! Recognition is `whatlang`'s (trigram profiles of 69 languages and the
//! script); Somali, which it does not know, is still recognised as not
//! Swedish or English, as its nearest language.

use whatlang::{Lang, Script};

use super::analysis::is_function_word;
use super::text::tokens;

/// Shorter texts say too little for a trigram profile ("ok", "hej!").
const MIN_LETTERS: usize = 20;
/// Scripts the model reads; any other (Arabic, Ge'ez, Cyrillic, …) is
/// another language whatever the trigrams say.
const READ_SCRIPTS: [Script; 1] = [Script::Latin];
/// Swedish with typos and missing å/ä/ö often looks Danish or Norwegian
/// to trigrams; both are close enough to be read as Swedish.
const READ_AS_SWEDISH: [Lang; 3] = [Lang::Swe, Lang::Dan, Lang::Nob];

/// A Latin-script text this long without a single Swedish or English
/// function word ("och", "att", "the", "is", …) is in another language,
/// even when the trigrams cannot say which with confidence (Somali, which
/// whatlang does not know; short Finnish or Bosnian).
const MIN_WORDS_WITHOUT_FUNCTION_WORDS: usize = 6;
/// Trigrams sometimes take plain English for French or German; a text
/// with this share of English or Swedish function words is read as such
/// (other languages reach a few per cent through short words like "i",
/// "a", "to").
const FUNCTION_SHARE_OF_A_READ_TEXT: f64 = 0.2;

/// A language the classifier was not trained on: ISO 639-3 code and
/// English name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtherLanguage {
    pub code: &'static str,
    pub name: &'static str,
}

/// ISO 639-3 for a language that could not be told more precisely.
pub const UNDETERMINED: OtherLanguage = OtherLanguage {
    code: "und",
    name: "an undetermined language",
};

/// How staff see a stored language code: its English and its own name
/// ("Arabic (العربية)"), so that a handler knows whom to ask for help
/// reading it; `None` for an undetermined one.
pub fn describe(code: &str) -> Option<String> {
    let lang = Lang::from_code(code)?;
    Some(if lang.eng_name() == lang.name() {
        lang.eng_name().to_owned()
    } else {
        format!("{} ({})", lang.eng_name(), lang.name())
    })
}

/// The language of `text` when it is recognisably neither Swedish nor
/// English; `None` when it is one of them, or too short to tell.
pub fn other_language(text: &str) -> Option<OtherLanguage> {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if letters < MIN_LETTERS {
        return None;
    }
    let info = whatlang::detect(text)?;
    let unread_script = !READ_SCRIPTS.contains(&info.script());
    let lang = info.lang();
    let read = lang == Lang::Eng || READ_AS_SWEDISH.contains(&lang);
    let words = tokens(text);
    let function_words = words.iter().filter(|w| is_function_word(w)).count();
    let without_function_words =
        words.len() >= MIN_WORDS_WITHOUT_FUNCTION_WORDS && function_words == 0;
    let other = unread_script
        || (!read
            && (function_words as f64) < FUNCTION_SHARE_OF_A_READ_TEXT * words.len() as f64
            && (info.is_reliable() || without_function_words));
    // An unsure guess is not shown: a handler told "Urdu" for Arabic
    // would look for the wrong interpreter.
    other.then(|| match info.is_reliable() {
        true => OtherLanguage {
            code: lang.code(),
            name: lang.eng_name(),
        },
        false => UNDETERMINED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_read_a_language_by_its_english_and_its_own_name() {
        assert_eq!(describe("pol").as_deref(), Some("Polish (Polski)"));
        assert_eq!(describe("und"), None);
    }

    #[test]
    fn swedish_and_english_are_not_other_languages_even_with_typos() {
        for text in [
            "Gatlampan utanför vårt hus på Björkvägen har varit släckt i två veckor",
            "gatlampan utanfor vart hus pa bjorkvagen har varit slackt i tva veckor",
            "The street light outside our house has been out for two weeks now",
            "sophamtnigen har misat oss igen, tredje ganen denna manad!!",
            "hej",
            "You sent my personal letter about my son to the wrong address. What will you do?",
        ] {
            assert_eq!(other_language(text), None, "{text}");
        }
    }

    #[test]
    fn arabic_finnish_and_polish_are_recognised() {
        let arabic = other_language("مصباح الشارع أمام منزلي مكسور منذ أسبوعين، أرجو إصلاحه");
        assert!(arabic.is_some(), "Arabic script is never read as Swedish");
        let finnish = other_language(
            "Kirjastokorttini katosi eilen bussissa. Miten saan uuden kortin ja mitä se maksaa?",
        );
        assert_eq!(finnish.map(|l| l.code), Some("fin"));
        let polish = other_language("Latarnia przed naszym domem nie świeci od dwóch tygodni");
        assert_eq!(polish.map(|l| l.code), Some("pol"));
        let somali = other_language("Qashinkayagii lama qaadin Isniintii, fadlan eega dhaqso");
        assert!(
            somali.is_some(),
            "whatlang does not know Somali, yet it is not Swedish"
        );
    }
}
