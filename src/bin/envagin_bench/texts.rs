//! Realistic requests: what residents write (Swedish first, a little
//! English), to which category, how often, and who they are. Used both by
//! the bulk seed and by the `submit` scenario, so lookups and searches find
//! the same kind of rows the load writes.

use chrono::{Datelike, Days, NaiveDate};
use envagin::domain::personal_number::PersonalNumber;
use rand::{Rng, RngExt};

/// (category, relative share of a day's requests, templates). `{gata}`,
/// `{nr}` and `{plats}` are filled in at random.
pub const KINDS: &[(&str, u32, &[&str])] = &[
    (
        "street_maintenance",
        10,
        &[
            "Det är ett stort potthål i vägbanan på {gata} vid nummer {nr}, bilarna får väja ut i mötande körfält.",
            "Trottoaren på {gata} är uppbruten sedan grävarbetet i höstas och det går inte att ta sig fram med rullator.",
            "There is a deep pothole on {gata} outside number {nr}, my bike tyre burst this morning.",
        ],
    ),
    (
        "snow_and_ice",
        6,
        &[
            "Ingen har plogat {gata} sedan i fredags och det är omöjligt att komma ut med bilen.",
            "Det är flughalt på gångvägen vid {plats}, kan ni sanda? Min granne halkade i morse.",
        ],
    ),
    (
        "street_lighting",
        8,
        &[
            "Gatlampan utanför {gata} {nr} är trasig och det är helt mörkt på kvällarna.",
            "Tre gatlampor längs cykelvägen vid {plats} har slocknat, det känns otryggt att gå hem.",
        ],
    ),
    (
        "traffic_and_parking",
        6,
        &[
            "Stoppskylten i korsningen {gata}/{plats} har blåst omkull.",
            "Bilar parkerar varje dag på trottoaren på {gata} så att barnvagnar måste gå ut i gatan.",
        ],
    ),
    (
        "parks_and_playgrounds",
        6,
        &[
            "Gungan på lekplatsen i {plats} har en trasig kedja, barnen kan skada sig.",
            "Papperskorgarna i {plats} är överfulla och det ligger skräp överallt i parken.",
        ],
    ),
    (
        "water_and_sewage",
        7,
        &[
            "Vi har inget vatten i kranen sedan i morse på {gata} {nr}, vet ni varför?",
            "Det rinner vatten upp ur marken vid brunnen på {gata}, det ser ut som en vattenläcka.",
        ],
    ),
    (
        "waste_collection",
        12,
        &[
            "Soptunnan på {gata} {nr} har inte tömts på två veckor, matavfallet luktar.",
            "Vi behöver en ny kärl för matavfall, locket på den gamla har gått sönder.",
            "Hämtningen av grovsopor missades i vårt område vid {plats} i tisdags.",
        ],
    ),
    (
        "building_permits",
        5,
        &[
            "Jag vill bygga ett uterum på 25 kvadratmeter på min tomt på {gata} {nr}, behöver jag bygglov?",
            "Hur lång tid tar handläggningen av min bygglovsansökan för en tillbyggnad?",
        ],
    ),
    (
        "environment_and_health",
        5,
        &[
            "Det luktar mögel i vår lägenhet på {gata} {nr} och hyresvärden gör ingenting.",
            "Restaurangen vid {plats} spelar hög musik till tre på natten varje helg.",
        ],
    ),
    (
        "financial_assistance",
        3,
        &[
            "Jag har blivit av med jobbet och pengarna räcker inte till hyran, kan jag söka försörjningsstöd?",
        ],
    ),
    (
        "child_welfare_concern",
        1,
        &[
            "Jag är orolig för ett barn i grannlägenheten på {gata}, det hörs skrik och barnet verkar inte gå till skolan.",
        ],
    ),
    (
        "substance_abuse_support",
        1,
        &[
            "Min son dricker mycket och jag vet inte vart vi ska vända oss för att få hjälp med missbruket.",
        ],
    ),
    (
        "domestic_violence",
        1,
        &[
            "Min väninna blir slagen av sin sambo och vågar inte gå hem, var kan hon få skyddat boende?",
        ],
    ),
    (
        "home_care",
        3,
        &[
            "Hemtjänsten kom inte till min mamma på {gata} igår kväll, hon fick ingen mat.",
            "Min pappa behöver ett trygghetslarm, hur ansöker vi?",
        ],
    ),
    (
        "elderly_housing",
        1,
        &["Min mamma kan inte längre bo hemma, hur ansöker vi om plats på särskilt boende?"],
    ),
    (
        "disability_support",
        2,
        &["Vi vill ansöka om personlig assistans enligt LSS för vår dotter."],
    ),
    (
        "paratransit",
        2,
        &["Färdtjänsten kom aldrig i morse och jag missade min tid på vårdcentralen."],
    ),
    (
        "preschool",
        4,
        &[
            "Vi vill ställa vårt barn i kö till förskolan i {plats} från augusti.",
            "Varför har avgiften för förskolan höjts i år?",
        ],
    ),
    (
        "school",
        4,
        &[
            "Min dotter blir mobbad i skolan och lärarna gör ingenting åt det.",
            "Hur gör vi skolval till årskurs sju?",
        ],
    ),
    (
        "school_transport",
        2,
        &["Skolskjutsen till {plats} kommer tio minuter för sent varje morgon."],
    ),
    (
        "library",
        2,
        &["Kan biblioteket i {plats} ha öppet längre på lördagar? Jag vill låna fler ljudböcker."],
    ),
    (
        "sports_and_leisure",
        2,
        &[
            "Hur bokar jag en tid i sporthallen i {plats} för vårt innebandylag?",
            "Simhallen har varit stängd i två veckor, när öppnar den igen?",
        ],
    ),
    (
        "association_grants",
        1,
        &["Vår förening vill söka föreningsbidrag för ungdomsverksamhet, när är sista dag?"],
    ),
    (
        "public_records",
        2,
        &["Jag begär ut allmänna handlingar om upphandlingen av snöröjning för {plats}."],
    ),
    (
        "personal_data_request",
        1,
        &[
            "Jag vill ha ett registerutdrag enligt GDPR över vilka personuppgifter kommunen har om mig.",
        ],
    ),
    (
        "invoices_and_fees",
        3,
        &["Jag har fått en faktura för vatten och avlopp som är dubbelt så hög som vanligt."],
    ),
    (
        "complaints_and_feedback",
        3,
        &[
            "Jag vill lämna beröm till personalen på återvinningscentralen, de var väldigt hjälpsamma.",
            "Jag är missnöjd med hur kommunen bemötte mig när jag ringde förra veckan.",
        ],
    ),
    (
        "general_question",
        4,
        &[
            "Vilka öppettider har kommunhuset i mellandagarna?",
            "What are the opening hours of the town hall during the holidays?",
        ],
    ),
    (
        "ext_state_roads",
        1,
        &["Det är stora hjulspår i asfalten på E20 vid avfarten mot {plats}."],
    ),
    (
        "ext_police",
        1,
        &["Någon har stulit min cykel utanför stationen, hur gör jag en polisanmälan?"],
    ),
    (
        "ext_tax_agency",
        1,
        &["Jag har flyttat till {gata} {nr} och behöver ändra min folkbokföring."],
    ),
    (
        "ext_healthcare",
        1,
        &["Jag får ingen tid på vårdcentralen i {plats}, vem ska jag vända mig till?"],
    ),
    (
        "ext_public_transport",
        1,
        &["Bussen mot {plats} går inte längre på söndagar, varför har turen tagits bort?"],
    ),
    (
        "ext_social_insurance",
        1,
        &["Jag har inte fått min sjukpenning för förra månaden."],
    ),
];

const STREETS: &[&str] = &[
    "Storgatan",
    "Kyrkogatan",
    "Skolvägen",
    "Björkvägen",
    "Drottninggatan",
    "Järnvägsgatan",
    "Ringvägen",
    "Ekbacken",
    "Sjövägen",
    "Ängsgatan",
    "Industrigatan",
    "Tallstigen",
];

const PLACES: &[&str] = &[
    "Centrum",
    "Norrby",
    "Söderåsen",
    "Västerängen",
    "Östermalm",
    "Stadsparken",
    "Hamnen",
    "Lövsta",
];

const FIRST_NAMES: &[&str] = &[
    "Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Eva", "Anders", "Sara", "Mohammed",
    "Fatima", "Per", "Elin", "Ahmed", "Ingrid", "Mikael",
];

const LAST_NAMES: &[&str] = &[
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Hassan",
    "Lindqvist",
];

/// Words a contact-centre agent types into free-text search.
pub const SEARCH_WORDS: &[&str] = &[
    "gatlampa",
    "potthål",
    "soptunna",
    "snorojning",
    "vattenläcka",
    "hemtjänst",
    "bygglov",
    "förskola",
    "mögel",
    "skolskjuts",
];

/// Picks a category by its share of a day, then one of its texts, filled in.
pub fn request_text(rng: &mut impl Rng) -> (&'static str, String) {
    let total: u32 = KINDS.iter().map(|k| k.1).sum();
    let mut pick = rng.random_range(0..total);
    for (category, share, templates) in KINDS {
        if pick < *share {
            let template = templates[rng.random_range(0..templates.len())];
            return (category, fill(template, rng));
        }
        pick -= share;
    }
    unreachable!("the shares add up to the total")
}

fn fill(template: &str, rng: &mut impl Rng) -> String {
    template
        .replace("{gata}", STREETS[rng.random_range(0..STREETS.len())])
        .replace("{plats}", PLACES[rng.random_range(0..PLACES.len())])
        .replace("{nr}", &rng.random_range(1..120).to_string())
}

/// Whether a text is one of the few English ones (answered in English).
pub fn is_english(text: &str) -> bool {
    text.starts_with("There") || text.starts_with("What")
}

/// Someone's contact data; each part present as often as residents give it.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    /// As the server stores it: `+46…`.
    pub phone: Option<String>,
    /// 12 digits.
    pub personal_number: Option<String>,
}

/// Contact data for resident number `n` (distinct e-mail, phone and
/// personal number for each `n` below 24 million).
pub fn contact(n: u64, rng: &mut impl Rng) -> Contact {
    let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
    let fold = |s: &str| s.to_lowercase().replace(['å', 'ä'], "a").replace('ö', "o");
    Contact {
        name: rng.random_bool(0.85).then(|| format!("{first} {last}")),
        email: rng
            .random_bool(0.7)
            .then(|| format!("{}.{}{n}@example.se", fold(first), fold(last))),
        phone: rng
            .random_bool(0.4)
            .then(|| format!("+467{:08}", n % 100_000_000)),
        personal_number: rng
            .random_bool(0.4)
            .then(|| personal_number(n).canonical().to_owned()),
    }
}

/// A distinct valid personnummer for each `n` below 24 million: a birth
/// date from 1940 on, a serial, and the Luhn check digit.
pub fn personal_number(n: u64) -> PersonalNumber {
    let born = NaiveDate::from_ymd_opt(1940, 1, 1).expect("a date") + Days::new(n % 24_000);
    let serial = n / 24_000 % 1_000;
    let nine = format!(
        "{:02}{:02}{:02}{serial:03}",
        born.year() % 100,
        born.month(),
        born.day()
    );
    let sum: u32 = nine
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    let digits = format!("{}{nine}{}", born.year() / 100, (10 - sum % 10) % 10);
    let today = NaiveDate::from_ymd_opt(2030, 1, 1).expect("a date");
    PersonalNumber::parse(&digits, today).expect("a valid personal number")
}
