//! Loads sv_SE.aff/.dic from the directory given (default: Debian's
//! /usr/share/hunspell) and times, per word, a dictionary check and, for
//! words the dictionary does not know, its suggestions.

use std::time::Instant;

/// Words as residents write them: compounds, missing å/ä/ö, typos.
const WORDS: [&str; 14] = [
    "gatlampan",
    "gatlamppan",
    "lekplatsgungan",
    "snorojningen",
    "sophämtnigen",
    "parkeringsautomaten",
    "vattenläckan",
    "försörjningsstödet",
    "bygglovsansökan",
    "potthålet",
    "medvetslos",
    "brnner",
    "gatlyktan",
    "avloppsstopp",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/usr/share/hunspell".to_owned());
    let aff = std::fs::read_to_string(format!("{dir}/sv_SE.aff"))?;
    let dic = std::fs::read_to_string(format!("{dir}/sv_SE.dic"))?;
    let started = Instant::now();
    let dictionary = spellbook::Dictionary::new(&aff, &dic).map_err(|e| e.to_string())?;
    println!("dictionary loaded in {:?}", started.elapsed());
    println!(
        "{:<22} {:>6} {:>12} {:>14}  suggestions",
        "word", "known", "check", "suggest"
    );
    for word in WORDS {
        let started = Instant::now();
        let known = dictionary.check(word);
        let check = started.elapsed();
        let mut suggestions = Vec::new();
        let started = Instant::now();
        if !known {
            dictionary.suggest(word, &mut suggestions);
        }
        let suggest = started.elapsed();
        println!(
            "{word:<22} {known:>6} {:>12} {:>14}  {}",
            format!("{check:.1?}"),
            if known {
                "-".to_owned()
            } else {
                format!("{suggest:.1?}")
            },
            suggestions.join(", ")
        );
    }
    Ok(())
}
