"""Data tables of the English evaluation set (:mod:`.generate`): filler vocabulary, sentence frames, and
the templates by which each PII kind is mentioned. Pure literals, no code."""

from __future__ import annotations

# ----------------------------------------------------------------------------------------------------------
# Filler vocabulary

FIRST_NAMES = (
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Farah",
    "Giulia",
    "Hiro",
    "Ines",
    "Jonas",
    "Kwame",
    "Lena",
    "Marta",
    "Nikhil",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yusuf",
)
LAST_NAMES = (
    "Schmidt",
    "Okafor",
    "García",
    "Nguyen",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Tanaka",
    "Müller",
    "Brown",
    "Silva",
    "Jensen",
    "Haddad",
    "Petrov",
    "Smith",
    "Kaur",
    "O'Neill",
    "van Dijk",
    "Lindqvist",
    "Moreau",
)
DOMAINS = (
    "example.com",
    "acme-corp.com",
    "mail.example.org",
    "northwind.co.uk",
    "contoso.de",
    "globex.io",
    "initech.fr",
    "gmail.com",
    "outlook.com",
    "proton.me",
    "umbrella-health.nl",
    "shop.example.es",
)
PRODUCTS = (
    "the billing API",
    "Checkout",
    "the mobile app",
    "DataSync",
    "the reporting service",
    "Helpdesk",
    "the payments gateway",
    "InvoiceBot",
    "the CRM export",
    "the SSO login",
)
CITIES = ("Berlin", "London", "Lyon", "Madrid", "Amsterdam", "Austin", "Toronto", "Dublin")

#: Short sentences made only of hard negatives, appended to some texts.
NEGATIVE_SENTENCES = (
    "Build {VERSION} went out on {DATE} at {TIME}.",
    "Commit {HASH} touched {QTY} files.",
    "Trace id {UUID}.",
    "Membership no. {BADCARD} (not a payment card).",
    "The IBAN on the old form ({BADIBAN}) failed validation.",
    "Latency p99 was {DURATION} and the error rate {PCT}.",
    "Order number {ORDER} ships from {CITY}.",
    "Event timestamp {EPOCH}.",
    "Barcode {EAN}, qty {QTY}.",
    "Quote {INVOICE} totals {AMOUNT}.",
    "Upload limit is {SIZE}; we used {PCT} of it.",
)

# ----------------------------------------------------------------------------------------------------------
# How each kind is mentioned. {V} is the value; "prose" for sentences, "kv" for config/log style.

URL_TEMPLATES = (
    "https://app.{d}/reset-password?token={V}&utm_source=email",
    "https://{d}/oauth/callback?code={V}&state={S}",
    "https://storage.{d}/exports/report-{Q}.csv?X-Amz-Expires=3600&X-Amz-Signature={V}",
    "https://api.{d}/v2/orders?api_key={V}&page={Q}",
    "https://maps.{d}/staticmap?center={C}&zoom=12&key={V}",
    "https://files.{d}/download?file=invoice-{Q}.pdf&sig={V}",
    "https://{d}/#access_token={V}&token_type=bearer&expires_in=3600",
    "https://portal.{d}/login?user=ops&password={V}",
    "https://hooks.{d}/ingest?source=crm&secret={V}",
)

MENTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "EMAIL": {
        "prose": (
            "reach me at {V}",
            "the customer ({V}) asked for a refund",
            "cc {V} on the reply",
            "send the receipt to <{V}>",
            "her address is {V}.",
            "forwarded from {V}",
        ),
        "kv": ("email: {V}", '"contact_email": "{V}"', "from={V}", "reply_to = {V}"),
    },
    "PHONE": {
        "prose": (
            "call me on {V}",
            "my number is {V}.",
            "(mobile {V})",
            "you can ring the office at {V}, ext. 204",
            "she left a voicemail from {V}",
            "text {V} when it ships",
        ),
        "kv": ("phone: {V}", '"phone": "{V}"', "tel={V}", "callback_number = {V}"),
    },
    "CARD": {
        "prose": (
            "the card on file is {V}",
            "charged to {V} (exp 09/27)",
            "paid with {V}.",
            "card number {V}, CVV withheld",
            "the customer read out {V} over chat",
        ),
        "kv": ("card_number: {V}", '"pan": "{V}"', "card={V}"),
    },
    "IBAN": {
        "prose": (
            "please wire it to {V} (BIC COBADEFFXXX)",
            "refund to IBAN {V}.",
            "our account is {V}",
            "new bank details: {V}, same holder",
        ),
        "kv": ("iban: {V}", '"iban": "{V}"', "payout_account={V}"),
    },
    "IP": {
        "prose": (
            "login attempts from {V} were blocked",
            "the VPN assigned {V}.",
            "ping {V} times out",
            "user connected from {V} at {TIME}",
        ),
        "kv": ("client_ip={V}", "remote_addr: {V}", "host = {V}", '"ip": "{V}"'),
    },
    "API_KEY": {
        "prose": (
            "I pasted my key {V} by mistake",
            "the key {V} is in the repo, rotate it",
            "it fails with key {V}.",
            "use {V} for staging",
        ),
        "kv": (
            "OPENAI_API_KEY={V}",
            'api_key = "{V}"',
            "Authorization: Bearer {B}",
            "aws_access_key_id={V}",
            "headers: {{'Authorization': 'Bearer {B}'}}",
            "export SERVICE_TOKEN={V}",
        ),
    },
    "URL_TOKEN": {
        "prose": ("the link {U} returns 403", "open {U} to confirm", "I clicked {U}.", "webhook target: {U}"),
        "kv": ("url: {U}", "GET {U} HTTP/1.1", '"callback": "{U}"'),
    },
    "NATIONAL_ID": {
        "prose": (
            "my SSN is {V}",
            "employee social security number {V} on file",
            "NI number {V}.",
            "national id {V} (scanned copy attached)",
            "her DNI is {V}",
        ),
        "kv": ("ssn: {V}", '"national_id": "{V}"', "nino={V}", "tax_id = {V}"),
    },
}

# Scenario frames. {P1}/{P2}: PII mentions (None → a negative sentence); other fields are fillers/negatives.
FRAMES: tuple[tuple[str, str], ...] = (
    ("prose", "Ticket {TICKET} opened {DATE} {TIME}: {FIRST} says order {ORDER} ({AMOUNT}) never arrived; {P1}. {P2}"),
    ("prose", "Invoice {INVOICE} dated {DATE}, total {AMOUNT} incl. VAT {PCT}. {P1}. Reference {ORDER}. {P2}"),
    ("prose", "Hi {FIRST},\n\nthanks for your note about order {ORDER} from {DATE}. {P1}. {P2}\n\nBest,\n{NAME}"),
    (
        "prose",
        "Can you draft a polite reply to {NAME}? {P1}. "
        "They also mention invoice {INVOICE} and a refund of {AMOUNT}. {P2}",
    ),
    (
        "prose",
        "Summarize this thread: {NAME} reported on {DATE} that {P1}; "
        "ops replied that build {VERSION} fixes it ({PCT} rollout). {P2}",
    ),
    (
        "prose",
        "Getting errors from {PRODUCT} {VERSION} since commit {HASH}: "
        "{PCT} of requests fail after {DURATION}. {P1}. {P2}",
    ),
    ("prose", 'Translate to German: "Dear {NAME}, your order {ORDER} of {DATE} is delayed; {P1}." {P2}'),
    ("prose", "Classify the urgency of: '{P1}. It has been {QTY} days since ticket {TICKET}.' {P2}"),
    (
        "kv",
        "```yaml\n# {PRODUCT} {VERSION}, generated {DATE}\nregion: eu-west-1\n{P1}\n"
        "max_tokens: {QTY}\ntimeout_ms: {PORT}\n{P2}\n```",
    ),
    ("kv", "{ISODATE}T{TIME}Z ERROR [worker-{QTY}] request {UUID} failed after {DURATION} {P1} {P2}"),
    (
        "kv",
        "Why does this fail?\n```\nDEBUG session={UUID} version={VERSION}\n{P1}\nretry 3/5 in {DURATION}\n{P2}\n```",
    ),
    (
        "kv",
        'Extract the fields as JSON from this record: {{"order": "{ORDER}", "created": "{DATE}", {P1}, '
        '"total": "{AMOUNT}"}} {P2}',
    ),
)
