"""Fixed vocabulary of the mirror: sections, tags, authors and the invented phrase lists the
article text is built from. Every sentence the mirror shows comes from these lists; none is
taken from the real outlet."""

from __future__ import annotations

from dataclasses import dataclass

SITE_NAME = "Responsible Statecraft"
SITE_ID = 21078224
REAL_ORIGIN = "https://responsiblestatecraft.org"


@dataclass(frozen=True)
class Section:
    """A listing section: a type section, QiOSK, a region or a topic."""

    key: str  # stable key, also the data-category value
    label: str  # as displayed
    path: str  # URL path with slashes, e.g. "/regions/middle-east/"
    section_id: int
    kind: str  # "type", "qiosk", "region", "topic"

    @property
    def feed_path(self) -> str:
        return "/feeds/" + self.path.strip("/") + ".rss"

    @property
    def resource_id(self) -> str:
        return f"section_{self.section_id}"


TYPES = (
    Section("analysis", "Analysis", "/analysis/", 2271160, "type"),
    Section("reporting", "Reporting", "/reporting/", 2271161, "type"),
    Section("opinion", "Opinion", "/opinion/", 2271162, "type"),
    Section("news", "News", "/news/", 2271163, "type"),
)
QIOSK = Section("qiosk", "QiOSK", "/qiosk/", 2271170, "qiosk")
REGIONS = (
    Section("middle-east", "Middle East", "/regions/middle-east/", 2271180, "region"),
    Section("europe", "Europe", "/regions/europe/", 2271181, "region"),
    Section("asia-pacific", "Asia-Pacific", "/regions/asia-pacific/", 2271182, "region"),
    Section("africa", "Africa", "/regions/africa/", 2271183, "region"),
    Section("latin-america", "Latin America", "/regions/latin-america/", 2271184, "region"),
    Section("north-america", "North America", "/regions/north-america/", 2271185, "region"),
)
TOPICS = (
    Section(
        "military-industrial-complex",
        "Military Industrial Complex",
        "/military-industrial-complex/",
        2271190,
        "topic",
    ),
    Section(
        "washington-politics", "Washington Politics", "/washington-politics/", 2271191, "topic"
    ),
    Section("global-crises", "Global Crises", "/global-crises/", 2271192, "topic"),
)
SECTIONS = (*TYPES, QIOSK, *REGIONS, *TOPICS)
SECTION_BY_KEY = {s.key: s for s in SECTIONS}
SECTION_BY_PATH = {s.path: s for s in SECTIONS}
TYPE_BY_LABEL = {s.label: s for s in TYPES}
PRIMARY_CHOICES = (*REGIONS, *TOPICS)  # primary sections of non-QiOSK pieces
HOME_SECTION_ID = 2271150


def tag_slug(label: str) -> str:
    """The outlet's tag slug: lower case, every run of non-alphanumerics becomes one hyphen
    ("U.S. foreign policy" -> "u-s-foreign-policy")."""
    out: list[str] = []
    pending = False
    for ch in label.lower():
        if ch.isascii() and ch.isalnum():
            if pending and out:
                out.append("-")
            out.append(ch)
            pending = False
        else:
            pending = True
    return "".join(out)


# (label, weight). "U.S. foreign policy" and "Iran" are frequent enough to fill 3+ tag pages.
TAGS = (
    ("U.S. foreign policy", 36),
    ("Iran", 22),
    ("Pentagon budget", 9),
    ("China", 10),
    ("Ukraine war", 9),
    ("Israel-Gaza war", 9),
    ("NATO", 7),
    ("Saudi Arabia", 5),
    ("Donald Trump", 9),
    ("Congress", 8),
    ("Arms sales", 6),
    ("Sanctions", 6),
    ("Yemen", 4),
    ("Taiwan", 5),
    ("Venezuela", 4),
    ("Sudan", 3),
    ("Nuclear weapons", 5),
    ("Defense industry", 5),
    ("War Powers", 4),
    ("Diplomacy", 7),
    ("Russia", 7),
    ("Syria", 4),
    ("Lebanon", 3),
    ("Houthis", 3),
    ("Golden Dome", 3),
    ("AFRICOM", 2),
    ("Mexico", 3),
    ("Cuba", 2),
    ("North Korea", 3),
    ("India", 3),
    ("Gulf states", 3),
    ("Iraq", 3),
    ("Restraint", 4),
    ("F-35", 2),
)
TAG_LABELS = tuple(label for label, _ in TAGS)
TAG_WEIGHTS = tuple(weight for _, weight in TAGS)
# A tag that exists (its page answers 200) but no article carries: the empty tag.
EMPTY_TAG = "Intermediate-range missiles"
ALL_TAG_LABELS = (*TAG_LABELS, EMPTY_TAG)
TAG_BY_SLUG = {tag_slug(label): label for label in ALL_TAG_LABELS}


@dataclass(frozen=True)
class Person:
    name: str
    username: str | None  # CMS login used in /author/<username>/; None: no profile link
    bio: str


AUTHORS = (
    Person("Mara Lindqvist", "mlindqvist", "is a senior fellow who writes on Gulf security."),
    Person("Tobias Achterberg", "tachterberg", "covers defense budgets and procurement."),
    Person("Zoë Ferrán", "zferran", "is a journalist based between Madrid and Bogotá."),
    Person("Declan O'Rourke", "dorourke2", "is a former congressional staffer."),
    Person("Nadia El-Khoury", "nelkhoury", "writes about Lebanon, Syria and the Levant."),
    Person("Jonah Whitcombe", "jwhit", "is the outlet's Washington correspondent."),
    Person("Priya Raghunathan", "praghunathan", "researches South Asian security."),
    Person("Miloš Kovačević", "mkovacevic", "is a Balkans analyst and translator."),
    Person("Amara Okonjo", "aokonjo", "reports on the Sahel and the Horn of Africa."),
    Person("Henrik Sørensen", "hsorensen", "is a nuclear policy researcher."),
    Person("Lucía Beltrán", "lbeltran", "covers Latin American politics."),
    Person("Samuel Adeyemi-Ross", "sross", "is a retired Army officer."),
    Person("Grace Thibodeaux", "gthibodeaux", "edits the QiOSK news desk."),
    Person("Ravi D'Costa", "rdcosta", "writes about trade, sanctions and tariffs."),
    Person("Elena Vasquez-Moreau", "evm", "is a contributing editor."),
    Person("Peter Haldane", "phaldane", "is a historian of American foreign policy."),
    Person("Inès Kaczmarek", "ikaczmarek", "covers NATO and the European Union."),
    Person("Caleb Nakamura", "cnakamura", "writes about East Asia and the Pacific."),
)
# Bylined contributors without a profile page (the byline anchor has no href).
GUESTS = (
    Person("Anya Petrova-Hale", None, "is a guest contributor."),
    Person("Col. (ret.) Martin Brewer", None, "served thirty years in the U.S. Army."),
)
QIOSK_EDITORS = (AUTHORS[12], AUTHORS[5], AUTHORS[14])

# ---------------------------------------------------------------------------------------------
# Phrase lists. Each entry: (phrase as shown, slug keyword).
ACTORS = (
    ("Washington", "washington"),
    ("the Pentagon", "pentagon"),
    ("Congress", "congress"),
    ("Tehran", "tehran"),
    ("Beijing", "beijing"),
    ("Brussels", "brussels"),
    ("Moscow", "moscow"),
    ("Kyiv", "kyiv"),
    ("the White House", "white-house"),
    ("Riyadh", "riyadh"),
    ("Caracas", "caracas"),
    ("Ankara", "ankara"),
    ("New Delhi", "delhi"),
    ("Seoul", "seoul"),
    ("Abuja", "abuja"),
    ("Mexico City", "mexico"),
)
SUBJECTS = (
    ("arms sales", "arms-sales"),
    ("the ceasefire", "ceasefire"),
    ("missile defense", "missile-defense"),
    ("the defense budget", "defense-budget"),
    ("sanctions relief", "sanctions"),
    ("troop withdrawals", "troops"),
    ("nuclear talks", "nuclear-talks"),
    ("the drone war", "drones"),
    ("war powers", "war-powers"),
    ("shipping lanes", "shipping"),
    ("the aid package", "aid-package"),
    ("base access", "bases"),
    ("the tariff fight", "tariffs"),
    ("peace talks", "peace-talks"),
    ("the carrier group", "carrier"),
    ("grain exports", "grain"),
)
ADJECTIVES = (
    "hidden",
    "rising",
    "quiet",
    "costly",
    "overlooked",
    "fragile",
    "uneasy",
    "stubborn",
    "improbable",
    "narrow",
)
TITLE_TEMPLATES = (
    "Why {actor} can’t afford to ignore {subject}",
    "The {adj} cost of {subject}",
    "{Actor} bets on {subject} — and the bill comes due",
    "What {actor} gets wrong about {subject}",
    "Inside the {adj} fight over {subject}",
    "{Actor}’s {adj} gamble on {subject}",
    "Is {actor} sleepwalking into a crisis over {subject}?",
    "How {subject} became {actor}’s {adj} problem",
)
DIPLOMACY_WATCH_TEMPLATES = (
    "Diplomacy Watch: {Actor} weighs {subject}",
    "Diplomacy Watch: a {adj} week for {subject}",
    "Diplomacy Watch: envoys return to {subject}",
)
QIOSK_TEMPLATES = (
    "{Actor} signals shift on {subject}",
    "Lawmakers press {actor} over {subject}",
    "Report: {actor} quietly expands {subject}",
    "{Actor} and {actor2} trade barbs over {subject}",
)
DEKS = (
    "The {adj} logic behind {subject} deserves far more scrutiny than it is getting.",
    "Officials in {actor} insist nothing has changed. The record says otherwise.",
    "A close look at {subject} reveals who pays — and who profits.",
    "There is still time for {actor} to change course, but not much.",
    "Critics warn that {subject} could drag the United States into a wider war.",
)
VERBS = (
    "has quietly expanded",
    "continues to underestimate",
    "appears ready to abandon",
    "keeps doubling down on",
    "is struggling to explain",
    "has little appetite for",
    "may soon reconsider",
    "spent months negotiating",
    "publicly dismissed",
    "privately welcomed",
)
OBJECTS = (
    "its security guarantees in the region",
    "the arms pipeline to its partners",
    "the framework agreed last spring",
    "a costly forward presence",
    "the sanctions regime",
    "a decades-old basing arrangement",
    "the humanitarian corridor",
    "its commitments under the treaty",
    "the backchannel with its rivals",
    "a budget request padded with new programs",
)
TAILS = (
    "",
    " despite mounting costs at home",
    " — and few in Washington seem to notice",
    ", according to officials familiar with the talks",
    " even as public support erodes",
    " without a clear exit strategy",
    ", a move that surprised its closest allies",
    " at a moment when restraint would serve it better",
)
ROLES = (
    "former State Department official",
    "retired Marine colonel",
    "congressional aide",
    "European diplomat",
    "regional analyst",
    "defense industry lobbyist",
    "humanitarian worker",
)
SPEAKERS = (
    "Hollis Marchetti",
    "Dr. Yusuf Adebayo",
    "Karin Åberg",
    "Tomás Ó Briain",
    "Leila Haddad",
    "Gareth Pennington",
    "Chiara Rinaldi",
    "Olusegun Bakare",
)
QUOTES = (
    "Nobody in this town wants to be the one who says the strategy has failed",
    "We have been told for years that this is temporary",
    "The money moves faster than the debate",
    "If you ask what the end state is, you get a long silence",
    "Diplomacy is cheaper than deterrence, and it always has been",
    "The region is tired of being a chessboard",
)
OBSERVATIONS = (
    "That is a {adj} outcome — one that few planners anticipated",
    "The numbers tell a {adj} story",  # "a {adj}" gets the right article
    "None of this was inevitable",
    "Critics call it a {adj} bargain with little upside",
    "The plain truth is that no one has a plan for the day after",
    "Lawmakers have asked for a full accounting, so far without success",
)
SUBHEADS = (
    "The view from {actor}",
    "Follow the money",
    "What comes next",
    "A {adj} precedent",
    "The case for restraint",
    "Who decides?",
)
LIST_ITEMS = (
    "Suspend new transfers until Congress votes",
    "Publish the full cost estimate",
    "Reopen direct talks with {actor}",
    "Set a date for the drawdown",
    "Tie aid to verifiable ceasefire terms",
    "End the open-ended deployment",
    "Require an inspector general review",
)
PLACES = (
    "Camp Lemonnier, Djibouti",
    "Al Udeid Air Base, Qatar",
    "Ramstein Air Base, Germany",
    "Naval Station Rota, Spain",
    "Camp Humphreys, South Korea",
)
CAPTIONS = (
    "Delegates arrive for a round of talks",
    "Soldiers unload equipment from a transport aircraft",
    "A destroyer transits the strait at dusk",
    "Protesters gather outside the parliament building",
    "The secretary speaks to reporters after a meeting",
    "Workers inspect a damaged grain terminal",
    "A convoy moves along a desert highway",
)
PHOTOGRAPHERS = (
    "Ron Ashdown",
    "Freddie Kallio",
    "Tessa Lindgren",
    "Omar Qasim",
    "Beatriz Saldanha",
)
RANKS = ("Sgt. 1st Class", "Staff Sgt.", "Petty Officer 2nd Class", "Senior Airman")
RTL_WORDS = (("الهدنة", "ar"), ("שלום", "he"))
EXTERNAL_LINKS = (
    ("https://www.congress.gov/bill/118th-congress/house-bill/4531", "the House bill"),
    ("https://www.gao.gov/products/gao-24-106", "a watchdog report"),
    ("https://www.un.org/en/situations", "the United Nations"),
    ("https://www.sipri.org/databases/armstransfers", "arms transfer data"),
    ("https://twitter.com/RStatecraft", "on social media"),
)
