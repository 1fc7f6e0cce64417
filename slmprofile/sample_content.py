"""Content tables and per-task prompt/response builders for :mod:`slmprofile.sample`.

Everything here is fictional: Northwind Analytics, its customers, suppliers, people, numbers and every piece of
"personal data" (card numbers are Luhn-valid and IBANs checksum-valid only so that PII detectors fire on them).

Each ``build_<task>(rng, ctx)`` returns a :class:`Draft`: the request messages, the assistant's answer (text or tool
calls), which template produced it and which PII kinds were planted in the prompt. Only ``random.Random`` methods
are used, on lists and tuples (never sets or dict views of unordered data), so a seed reproduces the output exactly.
"""

from __future__ import annotations

import json
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .checksums import iban_check_digits, luhn_check_digit

PII_ORDER = ("EMAIL", "PHONE", "CARD", "IBAN", "IP", "API_KEY", "NATIONAL_ID")


@dataclass
class Ctx:
    """What a builder may know about the call it builds."""

    when: datetime
    service: str


@dataclass
class Draft:
    task: str
    template: str
    messages: list[dict[str, Any]]
    response: str | None
    tool_calls: list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    pii: list[str] = field(default_factory=list)
    temperature: float = 0.2
    max_tokens: int = 1024
    feature: str = ""  # app-level feature name (some loggers record it, some do not)
    prompt_name: str | None = None  # Langfuse prompt management, when the template lives there
    prompt_version: int | None = None

    def pii_kinds(self) -> list[str]:
        return [k for k in PII_ORDER if k in self.pii]


def _sys(text: str) -> dict[str, Any]:
    return {"role": "system", "content": text}


def _user(text: Any) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _asst(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _fmt_date(d: datetime, style: int) -> str:
    if style == 0:
        return d.strftime("%Y-%m-%d")
    if style == 1:
        return d.strftime("%B %d, %Y").replace(" 0", " ")
    if style == 2:
        return d.strftime("%d %b %Y").lstrip("0")
    return d.strftime("%d.%m.%Y")


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# --------------------------------------------------------------------------------------------- people & companies
FIRST_NAMES = (
    "Priya", "Marcus", "Elena", "Tomás", "Aisha", "Jonas", "Mei", "Daniel", "Fatima", "Lukas", "Sofia", "Kwame",
    "Hannah", "Ravi", "Chloé", "Mateo", "Ingrid", "Omar", "Yuki", "Grace", "Diego", "Nadia", "Samuel", "Leila",
    "Oliver", "Anika", "Ben", "Camila", "Erik", "Zara", "Hiro", "Maya", "Noah", "Isabela", "Felix", "Amara",
    "Victor", "Lena", "Arjun", "Rosa", "Tyler", "Sinead", "Kofi", "Ana", "Mohammed", "Julia", "Pieter", "Wen",
)
LAST_NAMES = (
    "Patel", "Okafor", "Novak", "García", "Schmidt", "Chen", "Lindqvist", "Haddad", "Kowalski", "Nguyen",
    "Brennan", "Rossi", "Mensah", "Dubois", "Tanaka", "Silva", "Müller", "Johansson", "Ahmed", "Fischer",
    "O'Brien", "Kim", "Moreau", "Costa", "Ivanova", "Larsen", "Reyes", "Weber", "Sato", "Hughes", "Bakker",
    "Osei", "Ferreira", "Walsh", "Yilmaz", "Park", "Svensson", "Delgado", "Murphy", "Kaur",
)
JOB_TITLES = (
    "Head of Data", "Analytics Manager", "BI Lead", "Operations Manager", "Finance Director", "RevOps Analyst",
    "VP Customer Success", "Data Engineer", "Marketing Ops Manager", "CFO", "IT Administrator", "Product Analyst",
)
CUSTOMERS = (
    ("Brightline Logistics", "brightline-logistics.com"), ("Cobalt Health", "cobalthealth.io"),
    ("Fernwood Retail", "fernwoodretail.com"), ("Harbor & Pine", "harborandpine.co"),
    ("Kestrel Bank", "kestrelbank.com"), ("Lumen Foods", "lumenfoods.com"), ("Meridian Travel", "meridian.travel"),
    ("Northstar Freight", "northstarfreight.com"), ("Orchard Labs", "orchardlabs.dev"),
    ("Pinecrest Insurance", "pinecrest-ins.com"), ("Quarry Studio", "quarry.studio"),
    ("Redwood Pharma", "redwoodpharma.com"), ("Saltmarsh Energy", "saltmarsh-energy.co.uk"),
    ("Tidewater Media", "tidewatermedia.com"), ("Umber Apparel", "umberapparel.com"),
    ("Vantage Realty", "vantagerealty.com"), ("Willow Education", "willowedu.org"),
    ("Zephyr Mobility", "zephyrmobility.de"), ("Alder Robotics", "alderrobotics.com"),
    ("Bluefin Outdoors", "bluefinoutdoors.com"), ("Cascade Dental", "cascadedental.com"),
    ("Driftwood Hotels", "driftwoodhotels.com"), ("Emberly Games", "emberly.gg"),
    ("Foxglove Biotech", "foxglovebio.com"), ("Granite Legal", "granitelegal.co.uk"),
    ("Juniper Fintech", "juniperfin.com"), ("Larkspur Home", "larkspurhome.com"), ("Mosaic Clinics", "mosaicclinics.nl"),
)
COMPETITORS = ("Looker", "Tableau", "Power BI", "Metabase", "Sigma", "Mode", "ThoughtSpot")
CONNECTORS = (
    "Snowflake", "BigQuery", "Redshift", "Postgres", "MySQL", "Salesforce", "HubSpot", "Stripe", "Shopify",
    "Zendesk", "Google Sheets", "Databricks",
)
PLANS = ("Starter", "Growth", "Business", "Enterprise")
BROWSERS = ("Chrome 129", "Safari 18", "Firefox 131", "Edge 129", "Chrome on Windows", "Safari on iPad")
DASHBOARDS = (
    "Revenue Overview", "Weekly Ops", "Marketing Funnel", "Churn Watch", "Inventory Health", "Exec KPIs",
    "Support SLA", "Cohort Retention", "Pipeline by Region", "Store Performance",
)
METRICS = ("MRR", "net revenue", "orders", "active users", "tickets closed", "gross margin", "signups", "ARPU")
DIMENSIONS = ("region", "plan", "sales rep", "product category", "channel", "country", "store")
TEAMS = ("finance", "ops", "sales", "marketing", "leadership", "support", "product")


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def customer(rng: random.Random) -> tuple[str, str]:
    return rng.choice(CUSTOMERS)


# ---------------------------------------------------------------------------------------------------------- PII
def pii_email(rng: random.Random, first: str, last: str, domain: str | None = None) -> str:
    f = _ascii(first).lower().replace("'", "")
    ln = _ascii(last).lower().replace("'", "")
    if domain is None or rng.random() < 0.15:
        domain = rng.choice(("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com"))
        return rng.choice((f"{f}.{ln}", f"{f}{ln}{rng.randint(2, 99)}", f"{f[0]}{ln}"))+ "@" + domain
    return rng.choice((f"{f}.{ln}", f"{f[0]}{ln}", f"{f}", f"{f}.{ln[0]}")) + "@" + domain


def pii_phone(rng: random.Random) -> str:
    kind = rng.randrange(7)
    if kind == 0:
        return f"({rng.choice((212, 312, 415, 617, 646, 737, 206, 303, 512))}) {rng.randint(201, 989)}-{rng.randint(0, 9999):04d}"
    if kind == 1:
        return f"+1 {rng.choice((212, 312, 415, 617, 718, 404, 305))}-{rng.randint(201, 989)}-{rng.randint(0, 9999):04d}"
    if kind == 2:
        return f"+44 20 {rng.randint(7000, 8999)} {rng.randint(0, 9999):04d}"
    if kind == 3:
        return f"+49 30 {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
    if kind == 4:
        return f"+33 1 {rng.randint(40, 79)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
    if kind == 5:
        return f"+351 9{rng.randint(10, 69)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
    return f"+31 6 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"


def pii_card(rng: random.Random) -> str:
    prefix = rng.choice(("4", "4", "51", "52", "53", "54", "55"))
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
    num = body + luhn_check_digit(body)
    if rng.random() < 0.65:
        return " ".join(num[i:i + 4] for i in range(0, 16, 4))
    if rng.random() < 0.5:
        return "-".join(num[i:i + 4] for i in range(0, 16, 4))
    return num


def pii_iban(rng: random.Random, country: str, bank: str | None = None) -> str:
    digits = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    if country == "DE":
        bban = digits(8) + digits(10)
    elif country == "NL":
        bban = (bank or rng.choice(("ABNA", "INGB", "RABO", "TRIO"))) + digits(10)
    elif country == "AT":
        bban = digits(5) + digits(11)
    elif country == "IE":
        bban = (bank or rng.choice(("AIBK", "BOFI"))) + digits(6) + digits(8)
    else:  # GB
        country = "GB"
        bban = (bank or rng.choice(("NWBK", "BARC", "HBUK", "LOYD", "MIDL"))) + digits(6) + digits(8)
    raw = country + iban_check_digits(country, bban) + bban
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def pii_ip(rng: random.Random) -> str:
    k = rng.randrange(5)
    if k == 0:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if k == 1:
        return f"192.168.{rng.randint(0, 20)}.{rng.randint(2, 254)}"
    if k == 2:
        return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return f"{rng.choice((34, 35, 52, 54, 85, 91, 185, 203))}.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def pii_api_key(rng: random.Random, kind: str | None = None) -> str:
    kind = kind or rng.choice(("openai", "aws", "northwind", "stripe", "github"))
    r = lambda n, al=ALNUM: "".join(rng.choice(al) for _ in range(n))  # noqa: E731
    if kind == "openai":
        return "sk-proj-" + r(48, ALNUM + "_-")
    if kind == "aws":
        return "AKIA" + r(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    if kind == "stripe":
        return "sk_live_" + r(24)
    if kind == "github":
        return "ghp_" + r(36)
    return "nw_live_" + r(32, "abcdef0123456789")


def pii_ssn(rng: random.Random) -> str:
    area = rng.randint(101, 665)
    return f"{area:03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"


# ======================================================================================== 1. support-ticket triage
TRIAGE_LABELS = (
    "billing", "bug_report", "feature_request", "account_access", "integration", "data_export", "cancellation",
    "how_to",
)
_TICKET_ISSUES: dict[str, tuple[tuple[str, str], ...]] = {
    "billing": (
        ("Charged twice this month", "We were charged {amount} twice on {date} for our {plan} subscription. Can you refund the duplicate charge?"),
        ("Invoice {inv} looks wrong", "Invoice {inv} lists {seats} seats, but we only have {seats2} active users in the workspace. Can you correct it?"),
        ("Renewal price went up?", "Our renewal quote went from ${price_old} to ${price_new} per year and nobody told us about a price change. Can you explain the increase?"),
        ("Still billed for removed seats", "We removed {n} seats back in {month} but we're still being billed for them on every invoice since."),
        ("Payment failed - workspace will be downgraded", "The renewal payment failed and now there's a banner saying the workspace will be downgraded on {date}. We don't want to lose our dashboards."),
        ("Need invoice re-issued", "Our AP team can't pay invoice {inv} unless it shows our PO number {po} and the new billing address in {city}. Could you re-issue it?"),
        ("Annual vs monthly billing", "We'd like to switch from monthly to annual billing on the {plan} plan. Is the 15% annual discount applied automatically?"),
    ),
    "bug_report": (
        ("Dashboard stuck loading", "The {dashboard} dashboard has been stuck on 'Loading...' since this morning. Other dashboards load fine."),
        ("Scheduled report did not send", "Scheduled report '{dashboard} - weekly' didn't go out on {weekday}. The run history says 'failed: timeout after 300s'."),
        ("Totals don't match", "When I filter the {metric} chart by {dimension}, the total doesn't match the table underneath. It's off by about {pct}%."),
        ("PDF export cuts off columns", "Exporting the {dashboard} dashboard to PDF cuts off the last column on every page. Happens in {browser}."),
        ("Date picker resets", "Since your release yesterday the date picker resets to 'Last 7 days' every time I change any other filter."),
        ("Forecast shows NaN", "The forecast for {metric} shows NaN for every day in {month}. It was fine last week and nothing changed on our side."),
        ("Alert fired three times", "Our '{metric} drop' alert fired three times within two minutes for the same event, and each one paged the on-call person."),
    ),
    "feature_request": (
        ("Teams integration for reports", "It would be great if we could send scheduled reports to Microsoft Teams, not just Slack and email."),
        ("Lock dashboard filters", "Can you add a way to lock dashboard filters so viewers can't change them? Our {team} team keeps changing the region filter by accident."),
        ("Dark mode for TV screens", "We'd love a dark mode for the dashboard viewer. Our ops team has the {dashboard} dashboard on a wall screen all day."),
        ("Custom fiscal calendar", "Please support custom fiscal calendars. We report on a 4-4-5 calendar and the built-in quarters don't line up with our books."),
        ("Row-level security", "Any plans for row-level security based on {connector} user attributes? Right now we maintain {n} copies of the same dashboard."),
        ("Snooze alerts", "Could alerts get a 'snooze until' option? During planned maintenance we get flooded with notifications."),
        ("Annotations on charts", "We'd like to add annotations to line charts (e.g. 'price change' or 'campaign launch') that everyone viewing the chart can see."),
    ),
    "account_access": (
        ("Locked out of my account", "I'm locked out after too many password attempts and the reset email never arrives. I've checked spam."),
        ("SSO login failing", "Our Okta SSO login started failing with 'SAML response signature invalid' after we rotated our signing certificate on {weekday}."),
        ("Workspace owner left", "{colleague} left the company and was the only workspace owner. How do we transfer ownership to me?"),
        ("2FA codes rejected", "Two-factor codes from my authenticator app are always rejected. The time on my phone is set automatically."),
        ("Invitations expire immediately", "New users we invite get 'invitation expired' even when they click the link right away. We've tried {n} times."),
        ("Can't see workspace after merge", "After our two workspaces were merged I can log in but I only see an empty workspace, none of the {dashboard} dashboards."),
    ),
    "integration": (
        ("{connector} sync failing", "The {connector} sync has been failing since {date} with the error '{error}'. We haven't changed any credentials."),
        ("Only 10,000 rows imported", "Our {connector} connector only imports the first 10,000 rows of the {table} table. The source has far more."),
        ("Webhooks retried forever", "Webhook deliveries to our endpoint keep being retried even though our server returns 200 within a second."),
        ("API token returns 401", "The Public API returns 401 for our service-account token, even though it was created today with admin scope."),
        ("Duplicate rows after incremental sync", "Incremental sync from {connector} duplicates a row every time a record is updated upstream, so our counts are inflated."),
        ("Slow {connector} refresh", "A full refresh of the {connector} source now takes over {n} hours; it used to take 20 minutes."),
    ),
    "data_export": (
        ("Export everything before contract ends", "How can we export all dashboards and their underlying queries before our contract ends on {date}?"),
        ("GDPR export request", "We received a data subject access request and need to export everything stored about one of our end users. What's the process?"),
        ("CSV export times out", "CSV export of the {table} table times out for anything over {n},000 rows. Is there a limit?"),
        ("Bulk export alert history", "Is there a way to bulk-export alert history for the last 12 months? We need it for an audit."),
        ("Export to S3", "Can scheduled exports write Parquet files directly to our S3 bucket instead of emailing a CSV?"),
    ),
    "cancellation": (
        ("Not renewing", "We've decided not to renew when our contract ends on {date}. What do we need to do, and what happens to our data?"),
        ("Cancel at end of period", "Please cancel our {plan} plan at the end of the current billing period."),
        ("Moving to {competitor}", "We're consolidating tools and moving to {competitor}. How do we downgrade to the free tier in the meantime?"),
        ("Pause instead of cancel?", "Budget got cut this quarter. Can we pause the subscription for three months instead of cancelling outright?"),
        ("Reduce to Starter", "We only have {n} people using Northwind now. Can we drop from {plan} to Starter at renewal, or do we have to cancel?"),
    ),
    "how_to": (
        ("Week-over-week growth", "How do I create a calculated field that shows week-over-week growth of {metric}?"),
        ("Share with external users", "Is it possible to share a dashboard with someone outside our organization without giving them a paid seat?"),
        ("Join two sources", "What's the best way to join {connector} data with our {connector2} data in a single chart?"),
        ("Weekday-only alerts", "How do I set up an alert on {metric} that only fires on weekdays?"),
        ("Default time zone", "Where do I change the default time zone for scheduled reports? Ours go out at 4am local time."),
        ("Embed a dashboard", "What do I need to embed the {dashboard} dashboard in our internal portal? Is there an iframe option?"),
    ),
}
_TICKET_ERRORS = (
    "OAuth token expired", "permission denied for schema analytics", "SSL SYSCALL error: EOF detected",
    "quota exceeded: 10000 requests/day", 'column "updated_at" does not exist', "INVALID_SESSION_ID",
    "Warehouse SUSPENDED", "403 Forbidden: insufficient scopes",
)
_TICKET_TABLES = ("orders", "events", "opportunities", "line_items", "tickets", "sessions", "invoices")
_TICKET_EXTRA = (
    "This is blocking our {team} team's weekly review on {weekday}.",
    "It's affecting about {n} users on our side.",
    "We tried clearing the cache and using a different browser, same result.",
    "Not urgent, just wanted to flag it.",
    "Please treat this as high priority, our board meeting is on {weekday}.",
    "Our workspace is {company_slug}.",
    "Screenshot attached.",
    "Let me know if you need anything else from us.",
    "This started right after we upgraded to the {plan} plan.",
    "Same thing happened last month and it fixed itself after a day.",
    "Happy to jump on a call if that's easier.",
)
_GREETINGS = ("Hi team,", "Hello,", "Hi Northwind support,", "Hey,", "Hi there,", "Good morning,", "", "")


def _ticket(rng: random.Random, label: str, pii: list[str]) -> tuple[str, str, str, str, str]:
    """Return (subject, body, priority, customer name, plan)."""
    subj, body = rng.choice(_TICKET_ISSUES[label])
    first, last = person(rng)
    colleague = " ".join(person(rng))
    comp, domain = customer(rng)
    c1, c2 = rng.sample(CONNECTORS, 2)
    price_old = rng.randrange(6000, 48000, 500)
    slots = dict(
        amount=f"${rng.choice((49, 99, 249, 499, 1250, 2400, 3600))}.00", date=f"{rng.choice(('Oct', 'Nov', 'Sep'))} {rng.randint(1, 28)}",
        plan=rng.choice(PLANS), inv=f"INV-{rng.randint(2025, 2026)}-{rng.randint(100, 9999):04d}", seats=rng.randint(12, 80),
        seats2=rng.randint(5, 11), price_old=f"{price_old:,}", price_new=f"{int(price_old * rng.choice((1.12, 1.2, 1.35, 1.5))):,}",
        n=rng.randint(2, 14), month=rng.choice(("July", "August", "September")), po=f"PO-{rng.randint(10000, 99999)}",
        city=rng.choice(("Austin", "Leeds", "Rotterdam", "Denver", "Munich", "Lyon", "Toronto")),
        dashboard=rng.choice(DASHBOARDS), weekday=rng.choice(WEEKDAYS[:5]), metric=rng.choice(METRICS),
        dimension=rng.choice(DIMENSIONS), pct=rng.randint(2, 30), browser=rng.choice(BROWSERS), team=rng.choice(TEAMS),
        connector=c1, connector2=c2, colleague=colleague, error=rng.choice(_TICKET_ERRORS),
        table=rng.choice(_TICKET_TABLES), competitor=rng.choice(COMPETITORS),
        company_slug=_ascii(comp).lower().replace(" & ", "-").replace(" ", "-"),
    )
    parts = [body.format(**slots)]
    # planted PII, where it naturally occurs
    if label == "billing" and rng.random() < 0.3:
        card = pii_card(rng)
        exp = f"{rng.randint(1, 12):02d}/{rng.randint(27, 31)}"
        parts.append(rng.choice((
            f"Please charge this card instead: {card}, exp {exp}.",
            f"Our new company card is {card} (expires {exp}), can you update it on the account?",
            f"You can use card {card} exp {exp} for the outstanding balance.",
        )))
        pii.append("CARD")
    if label in ("bug_report", "integration") and rng.random() < 0.22:
        ip = pii_ip(rng)
        parts.append(rng.choice((
            f"Our firewall shows the requests from {ip} being rejected with a 403.",
            f"The embed is served from our server at {ip}, if that helps with debugging.",
            f"We whitelisted {ip} as you suggested but nothing changed.",
            f"Requests come from our NAT gateway ({ip}).",
        )))
        pii.append("IP")
    if label == "integration" and rng.random() < 0.18:
        key = pii_api_key(rng, "northwind")
        parts.append(rng.choice((
            f"Here's the key we're using so you can check: {key}",
            f"Token (created this morning): {key}",
            f"Our code sends the header Authorization: Bearer {key}",
        )))
        pii.append("API_KEY")
    for extra in rng.sample(_TICKET_EXTRA, rng.choice((0, 1, 1, 2, 2, 3))):
        parts.append(extra.format(**slots))
    text = " ".join(parts) if rng.random() < 0.6 else "\n\n".join(parts)
    greet = rng.choice(_GREETINGS)
    sig_roll = rng.random()
    if sig_roll < 0.12:
        email = pii_email(rng, first, last, domain)
        sig = f"{first} {last}\n{rng.choice(JOB_TITLES)} | {comp}\n{email}"
        pii.append("EMAIL")
        if rng.random() < 0.5:
            sig += f" | {pii_phone(rng)}"
            pii.append("PHONE")
    elif sig_roll < 0.16:
        sig = f"{first} {last}\nCall me back on {pii_phone(rng)}"
        pii.append("PHONE")
    elif sig_roll < 0.55:
        sig = rng.choice((f"Thanks,\n{first}", f"Best regards,\n{first} {last}\n{comp}", f"Cheers, {first}", f"- {first}"))
    else:
        sig = ""
    body_txt = "\n\n".join(p for p in (greet, text, sig) if p)
    subject = subj.format(**slots)
    urgent = any(w in text for w in ("high priority", "board meeting", "downgraded", "paged", "blocking"))
    if urgent:
        prio = "urgent" if label in ("bug_report", "account_access", "billing") else "high"
    elif label in ("feature_request", "how_to"):
        prio = "low"
    elif label in ("cancellation", "data_export"):
        prio = "medium"
    else:
        prio = rng.choice(("medium", "high"))
    return subject, body_txt, prio, comp, slots["plan"]


_TRIAGE_SYS_1 = (
    "You are the support triage assistant for Northwind Analytics. Classify the customer ticket into exactly one "
    "of these categories: billing, bug_report, feature_request, account_access, integration, data_export, "
    "cancellation, how_to.\nRespond with the category name only, lowercase, no punctuation."
)
_TRIAGE_SYS_2 = (
    "You route incoming tickets for the Northwind Analytics help desk.\n"
    "Categories:\n- billing: invoices, charges, payment methods, plan pricing\n- bug_report: something in the product "
    "is broken or wrong\n- feature_request: asks for new functionality\n- account_access: login, SSO, 2FA, "
    "ownership, invitations\n- integration: data connectors, API, webhooks\n- data_export: getting data out\n"
    "- cancellation: cancel, downgrade, pause, not renewing\n- how_to: usage questions\n"
    "Priority is one of low, medium, high, urgent.\n"
    'Return JSON only: {"category": "<category>", "priority": "<priority>"}'
)
_TRIAGE_USER_3 = (
    "Which queue should this ticket go to? Options: billing | bug_report | feature_request | account_access | "
    "integration | data_export | cancellation | how_to. Answer with the queue name only.\n\n"
)


def build_ticket_triage(rng: random.Random, ctx: Ctx) -> Draft:
    label = rng.choices(TRIAGE_LABELS, weights=(20, 22, 10, 12, 15, 6, 6, 9))[0]
    pii: list[str] = []
    subject, body, prio, comp, plan = _ticket(rng, label, pii)
    ticket_no = rng.randint(40000, 69999)
    v = rng.choices(("t1_label_only", "t2_json_priority", "t3_queue_no_system"), weights=(5, 3, 2))[0]
    if v == "t1_label_only":
        msgs = [_sys(_TRIAGE_SYS_1), _user(f"Subject: {subject}\n\n{body}")]
        out = label
    elif v == "t2_json_priority":
        msgs = [_sys(_TRIAGE_SYS_2), _user(f"Ticket #{ticket_no}\nCustomer: {comp} ({plan} plan)\n"
                                           f"Subject: {subject}\n\n{body}")]
        out = json.dumps({"category": label, "priority": prio})
    else:
        msgs = [_user(_TRIAGE_USER_3 + f"Ticket #{ticket_no}\n---\n{subject}\n{body}")]
        out = label if rng.random() < 0.8 else label.replace("_", " ").title().replace(" ", "_")
    return Draft("ticket_triage", "ticket_triage." + v, msgs, out, pii=pii, temperature=0.0,
                 max_tokens=rng.choice((20, 50, 64)), feature="ticket-triage")


# ====================================================================================== 2. product-review sentiment
_PRODUCTS = (
    ("Auralis Pro wireless earbuds", "the left earbud", "battery"), ("Brewmont Classic espresso machine", "the steam wand", "crema"),
    ("Trailhawk 3 running shoes", "the sole", "grip"), ("Elevate standing desk", "the motor", "height range"),
    ("CrispWave 5.5L air fryer", "the basket coating", "cooking time"), ("Zenflow yoga mat", "the surface", "grip"),
    ("Scout kids' backpack", "the zipper", "pockets"), ("Lumio LED desk lamp", "the dimmer", "brightness"),
    ("Hearthstone cast-iron skillet", "the handle", "seasoning"), ("Brightsmile sonic toothbrush", "the charger", "battery"),
    ("Roomba-style SweepBot S7", "the side brush", "suction"), ("Fjell merino sweater", "the cuffs", "fit"),
    ("Armor Slim phone case", "the button covers", "fit"), ("Ridgeline 2-person tent", "the rain fly", "setup"),
    ("VortexBlend 1200 blender", "the lid", "noise"), ("Northline rain jacket", "the hood", "waterproofing"),
)
_POS = (
    "Absolutely love it.", "Works exactly as described.", "Great value for the price.",
    "Arrived two days early and well packaged.", "The {aspect} is excellent, better than my old one.",
    "Customer service replaced a missing part within a day.", "Sturdy build, feels premium.",
    "My kids use it every day and it's holding up well.", "Setup took five minutes.", "Would buy again without hesitation.",
    "Exceeded my expectations, honestly.", "Five stars, no notes.", "Bought a second one for my parents.",
)
_NEG = (
    "Stopped working after {weeks} weeks.", "Way overpriced for what you get.", "Package arrived damaged and the box was soaked.",
    "{part} broke the first time I used it.", "Customer support never replied to my emails.",
    "Smells strongly of plastic even after airing it out.", "The {aspect} is a real letdown.",
    "Instructions were useless, took an hour to figure out.", "Returned it.", "Feels cheap and flimsy.",
    "Not worth the money.", "Mine came with a scratch on the front.", "Third replacement and the same problem.",
)
_NEU = (
    "It does the job.", "Nothing special, but nothing wrong either.", "About what I expected for the price.",
    "Haven't used it enough to say much yet.", "Arrived on time.", "It's fine.", "Average {aspect}.",
    "Looks like the photos.", "Bought it as a gift so can't comment on long-term use.",
)
_REVIEW_TITLES = {
    "positive": ("Love it!", "Great purchase", "Exactly what I needed", "Highly recommend", "Solid"),
    "negative": ("Disappointed", "Do not buy", "Broke quickly", "Waste of money", "Not as advertised"),
    "neutral": ("OK", "Meh", "Average", "As expected", "Three stars"),
    "mixed": ("Good but...", "Mixed feelings", "Almost great", "Pros and cons", "Decent, with issues"),
}


def _review(rng: random.Random) -> tuple[str, str, str, int, str]:
    product, part, aspect = rng.choice(_PRODUCTS)
    label = rng.choices(("positive", "negative", "neutral", "mixed"), weights=(45, 25, 12, 18))[0]
    sl = dict(aspect=aspect, part=part[0].upper() + part[1:], weeks=rng.randint(2, 9))
    if label == "positive":
        sents = rng.sample(_POS, rng.randint(1, 4))
        stars = rng.choice((4, 5, 5))
    elif label == "negative":
        sents = rng.sample(_NEG, rng.randint(1, 4))
        stars = rng.choice((1, 1, 2))
    elif label == "neutral":
        sents = rng.sample(_NEU, rng.randint(1, 3))
        stars = 3
    else:
        sents = rng.sample(_POS, rng.randint(1, 2)) + rng.sample(_NEG, rng.randint(1, 2))
        if rng.random() < 0.5:
            sents = sents[::-1]
        sents.insert(rng.randint(1, len(sents) - 1), rng.choice(("But", "However,", "That said,", "On the other hand,")))
        stars = rng.choice((2, 3, 3, 4))
    text = " ".join(s.format(**sl) for s in sents).replace("But ", "But ").replace(", ", ", ")
    text = text.replace("However, ", "However, ").replace("But A", "But a").replace("However, A", "However, a")
    if rng.random() < 0.15:
        text = text.lower()
    title = rng.choice(_REVIEW_TITLES[label])
    return product, title, text, stars, label


_SENT_SYS_1 = (
    "Classify the sentiment of the product review as one of: positive, negative, neutral, mixed. "
    "Reply with one word."
)
_SENT_SYS_3 = (
    "You label customer reviews for the Northwind Review Insights pipeline. For each review output the label "
    "(positive/negative/neutral/mixed) and your confidence between 0 and 1, formatted as <label>|<confidence>. "
    "Nothing else."
)


def build_review_sentiment(rng: random.Random, ctx: Ctx) -> Draft:
    product, title, text, stars, label = _review(rng)
    v = rng.choices(("s1_one_word", "s2_json_stars", "s3_label_confidence"), weights=(5, 3, 3))[0]
    if v == "s1_one_word":
        msgs = [_sys(_SENT_SYS_1), _user(f"Review: {text}")]
        out = label
    elif v == "s2_json_stars":
        msgs = [_user("Rate the sentiment of this review on a 1-5 scale and give the label "
                      '(positive/negative/neutral/mixed). Return JSON like {"stars": 4, "sentiment": "positive"}.\n\n'
                      f"Product: {product}\nReview title: {title}\nReview: {text}")]
        out = json.dumps({"stars": stars, "sentiment": label})
    else:
        msgs = [_sys(_SENT_SYS_3), _user(f"[{product}] {title}. {text}")]
        out = f"{label}|{rng.choice((0.62, 0.71, 0.78, 0.84, 0.88, 0.91, 0.93, 0.95, 0.97, 0.99))}"
    return Draft("review_sentiment", "review_sentiment." + v, msgs, out, temperature=0.0,
                 max_tokens=rng.choice((10, 16, 32)), feature="review-insights")


# ========================================================================================= 3. invoice extraction
_SUPPLIERS = (
    ("Kellerman Bürobedarf GmbH", "Invalidenstraße 112", "10115 Berlin", "Germany", "DE", "EUR", 0.19, "office", "Commerzbank Berlin", "COBADEFFXXX"),
    ("Brightwave Cloud Services Ltd", "71 Clifton Street", "London EC2A 4NE", "United Kingdom", "GB", "GBP", 0.20, "cloud", "NatWest", "NWBKGB2L"),
    ("Atlas Facilities Management Inc.", "1400 W Randolph St", "Chicago, IL 60607", "USA", "US", "USD", 0.0, "facilities", "", ""),
    ("Van der Berg IT Consultancy B.V.", "Keizersgracht 241", "1017 AB Amsterdam", "Netherlands", "NL", "EUR", 0.21, "consulting", "ING Bank", "INGBNL2A"),
    ("Pacific Catering Co.", "55 Hudson St", "New York, NY 10013", "USA", "US", "USD", 0.08875, "catering", "", ""),
    ("DataGuard Security Ltd", "3 Piccadilly Place", "Manchester M1 3BN", "United Kingdom", "GB", "GBP", 0.20, "security", "Barclays", "BARCGB22"),
    ("Alpenblick Events GmbH", "Kärntner Ring 5", "1010 Wien", "Austria", "AT", "EUR", 0.20, "events", "Erste Bank", "GIBAATWWXXX"),
    ("Harbour Print & Design Ltd", "14 Pearse Street", "Dublin 2, D02 X285", "Ireland", "IE", "EUR", 0.23, "print", "AIB", "AIBKIE2D"),
    ("Summit Legal LLP", "100 Federal St", "Boston, MA 02110", "USA", "US", "USD", 0.0, "legal", "", ""),
    ("Cloudnest Hosting B.V.", "Stationsplein 45", "3013 AK Rotterdam", "Netherlands", "NL", "EUR", 0.21, "cloud", "Rabobank", "RABONL2U"),
    ("Greenleaf Office Plants Ltd", "8 Temple Row", "Birmingham B2 5HG", "United Kingdom", "GB", "GBP", 0.20, "plants", "Lloyds", "LOYDGB21"),
    ("Falkner Übersetzungen GmbH", "Maximilianstraße 31", "80539 München", "Germany", "DE", "EUR", 0.19, "translation", "Deutsche Bank", "DEUTDEMMXXX"),
)
_ITEMS = {
    "office": (("Ergonomic office chair Flex 2", 240, 420, 1, 8), ("Standing desk frame, black", 310, 520, 1, 6), ("Whiteboard markers, 12-pack", 9, 16, 2, 20), ("A4 copy paper, 5 reams", 21, 29, 2, 15), ("Monitor arm, dual", 89, 149, 1, 10), ("Notebooks A5, dotted", 4, 8, 10, 60)),
    "cloud": (("Managed Kubernetes cluster - Oct", 1800, 4200, 1, 1), ("Object storage (TB-month)", 18, 24, 10, 90), ("Egress (TB)", 55, 80, 1, 12), ("Premium support plan", 450, 900, 1, 1), ("Managed Postgres, 8 vCPU", 620, 980, 1, 3)),
    "facilities": (("Office cleaning - monthly contract", 2100, 3900, 1, 1), ("HVAC filter replacement", 340, 610, 1, 1), ("After-hours security staffing (hrs)", 38, 55, 8, 60), ("Window cleaning", 450, 800, 1, 1)),
    "consulting": (("Senior data engineer (days)", 950, 1250, 2, 15), ("Solution architect (days)", 1200, 1500, 1, 6), ("Workshop: dbt best practices", 2400, 3600, 1, 1), ("Travel expenses (flat)", 180, 450, 1, 1)),
    "catering": (("Team lunch buffet (per person)", 24, 38, 12, 80), ("Coffee & pastries (per person)", 9, 14, 10, 60), ("Delivery fee", 35, 75, 1, 1), ("Vegan platter", 85, 140, 1, 6)),
    "security": (("Penetration test - web application", 8500, 14500, 1, 1), ("Retest after remediation", 1500, 2800, 1, 1), ("Security awareness training (seats)", 18, 35, 20, 150)),
    "events": (("Venue hire, full day", 3200, 6800, 1, 1), ("AV equipment package", 900, 1800, 1, 1), ("Catering per guest", 45, 85, 20, 120), ("Event staff (hrs)", 32, 48, 8, 40)),
    "print": (("Conference booth banner 2x1m", 160, 260, 1, 4), ("Business cards, 250 pcs", 35, 55, 2, 20), ("A5 flyers, 1000 pcs", 120, 190, 1, 5), ("Sticker sheets", 0.8, 1.6, 100, 1000)),
    "legal": (("Contract review - enterprise MSA (hrs)", 420, 650, 2, 14), ("Trademark filing fees", 350, 350, 1, 2), ("Data processing agreement template", 1800, 2600, 1, 1)),
    "plants": (("Plant maintenance - monthly", 180, 320, 1, 1), ("Fiddle leaf fig, large", 95, 160, 1, 4), ("Replacement planters", 35, 70, 1, 6)),
    "translation": (("Translation EN>DE (words)", 0.12, 0.18, 2000, 12000), ("Translation EN>FR (words)", 0.12, 0.18, 2000, 9000), ("Proofreading (hrs)", 55, 75, 2, 10), ("Rush surcharge", 150, 300, 1, 1)),
}
_DATE_FMT = {"DE": "%d.%m.%Y", "AT": "%d.%m.%Y", "GB": "%d/%m/%Y", "IE": "%d/%m/%Y", "US": "%m/%d/%Y", "NL": "%d-%m-%Y"}
_INVOICE_SYS_1 = (
    "Extract the following fields from the supplier invoice and return them as a JSON object: supplier_name, "
    "invoice_number, invoice_date (YYYY-MM-DD), due_date (YYYY-MM-DD), currency (ISO 4217), subtotal, tax_rate, "
    "tax_amount, total, payment_iban, line_items (list of {description, quantity, unit_price, amount}). "
    "Use null for fields that are not on the invoice. Numbers must be plain numbers without currency symbols. "
    "Return only the JSON."
)
_INVOICE_SYS_3 = (
    "You are an accounts-payable extraction engine for Northwind Analytics. Output exactly one JSON object with "
    "camelCase keys: vendorName, invoiceNumber, invoiceDate, dueDate, currency, netAmount, taxAmount, grossAmount, "
    "iban, poNumber, lineItems[{description, quantity, unitPrice, amount}]. Dates as YYYY-MM-DD, currency as ISO "
    "code. If a value is missing use null. No commentary."
)


def _noise(rng: random.Random, s: str) -> str:
    if rng.random() < 0.25:
        s = s.replace("Invoice", "lnvoice", 1)
    if rng.random() < 0.2:
        s = s.replace("Subtotal", "Subtota1", 1).replace("Total ", "TotaI ", 1)
    if rng.random() < 0.15:
        s = s.replace("Date", "Dale", 1)
    return s


def build_invoice_extraction(rng: random.Random, ctx: Ctx) -> Draft:
    name, street, city, country_name, cc, cur, tax, kind, bank, bic = rng.choice(_SUPPLIERS)
    pii: list[str] = []
    inv_date = ctx.when - timedelta(days=rng.randint(1, 20))
    terms = rng.choice((14, 30, 30, 45))
    due = inv_date + timedelta(days=terms)
    prefix = "".join(w[0] for w in _ascii(name).split()[:2]).upper()
    inv_no = rng.choice((f"{prefix}-{inv_date.year}-{rng.randint(100, 9999):04d}", f"{rng.randint(10000, 99999)}",
                         f"INV{inv_date.strftime('%y%m')}{rng.randint(10, 999):03d}"))
    po = f"PO-{rng.randint(10000, 99999)}" if rng.random() < 0.45 else None
    items = []
    for desc, lo, hi, qlo, qhi in rng.sample(_ITEMS[kind], rng.randint(1, min(4, len(_ITEMS[kind])))):
        unit = round(rng.uniform(lo, hi), 2) if hi > 5 else round(rng.uniform(lo, hi), 2)
        if unit > 100:
            unit = round(unit / 5) * 5.0
        qty = rng.randint(qlo, qhi)
        items.append((desc, qty, unit, round(qty * unit, 2)))
    subtotal = round(sum(i[3] for i in items), 2)
    tax_amt = round(subtotal * tax, 2)
    total = round(subtotal + tax_amt, 2)
    fmt = _DATE_FMT[cc]
    sym = {"EUR": "EUR", "GBP": "£", "USD": "$"}[cur]
    lines = [name.upper() if rng.random() < 0.5 else name, f"{street} · {city} · {country_name}"]
    slug = _ascii(name).split()[0].lower()
    if rng.random() < 0.5:
        lines.append(f"www.{slug}.com")
    lines += ["", rng.choice(("INVOICE", "Invoice", "TAX INVOICE", "RECHNUNG / INVOICE" if cc in ("DE", "AT") else "INVOICE"))]
    lines.append(f"Invoice No.: {inv_no}        Date: {inv_date.strftime(fmt)}")
    bill_to = "Northwind Analytics B.V., Herengracht 420, 1017 BZ Amsterdam" if cur != "USD" else "Northwind Analytics Inc., 500 W Madison St, Chicago, IL 60661"
    lines.append(f"Bill to: {bill_to}")
    if po:
        lines.append(f"Your reference: {po}")
    lines.append(f"Due date: {due.strftime(fmt)} (Net {terms})")
    lines += ["", "Pos  Description                              Qty      Unit price       Amount"]
    for i, (desc, qty, unit, amt) in enumerate(items, 1):
        lines.append(f"{i:<4} {desc:<40} {qty:<8} {_money(unit):>10} {_money(amt):>12}")
    lines += ["", f"{'Subtotal':>60} {sym} {_money(subtotal):>10}"]
    tax_label = "VAT" if cc != "US" else "Sales tax"
    lines.append(f"{tax_label + ' ' + format(tax * 100, 'g') + '%':>60} {sym} {_money(tax_amt):>10}")
    lines.append(f"{'Total due':>60} {sym} {_money(total):>10}")
    iban = None
    if cc != "US" and rng.random() < 0.6:
        iban = pii_iban(rng, cc, bic[:4] if cc in ("NL", "GB", "IE") else None)
        lines += ["", f"Bank: {bank}   IBAN: {iban}   BIC: {bic}"]
        pii.append("IBAN")
    elif cc == "US":
        lines += ["", "Please pay via the vendor portal or by check. Questions? Contact our billing team."]
    else:
        lines += ["", "Payment by bank transfer; bank details on our website."]
    if rng.random() < 0.1:
        first, last = person(rng)
        lines.append(f"Contact: {first} {last}, {pii_email(rng, first, last, slug + '.com')}")
        pii.append("EMAIL")
    lines.append(rng.choice(("Thank you for your business!", "Page 1 of 1", "", "Late payments incur 1% interest per month.")))
    ocr = _noise(rng, "\n".join(lines).rstrip())
    li = [{"description": d, "quantity": q, "unit_price": u, "amount": a} for d, q, u, a in items]
    url = f"https://files.northwind-analytics.com/ap-inbox/{ctx.when.strftime('%Y-%m')}/scan_{rng.getrandbits(48):012x}.png"
    img = {"type": "image_url", "image_url": {"url": url, "detail": "high"}}
    v = rng.choices(("i1_system_schema_image", "i2_user_only_image", "i3_camel_text_only"), weights=(5, 3, 3))[0]
    if v == "i3_camel_text_only":
        msgs = [_sys(_INVOICE_SYS_3), _user(f"Here is the text of a supplier invoice:\n\n{ocr}")]
        out = {
            "vendorName": name, "invoiceNumber": inv_no, "invoiceDate": inv_date.strftime("%Y-%m-%d"),
            "dueDate": due.strftime("%Y-%m-%d"), "currency": cur, "netAmount": subtotal, "taxAmount": tax_amt,
            "grossAmount": total, "iban": iban.replace(" ", "") if iban else None, "poNumber": po,
            "lineItems": [{"description": d, "quantity": q, "unitPrice": u, "amount": a} for d, q, u, a in items],
        }
        text = json.dumps(out, ensure_ascii=False)
    else:
        out = {
            "supplier_name": name, "invoice_number": inv_no, "invoice_date": inv_date.strftime("%Y-%m-%d"),
            "due_date": due.strftime("%Y-%m-%d"), "currency": cur, "subtotal": subtotal, "tax_rate": tax,
            "tax_amount": tax_amt, "total": total, "payment_iban": iban.replace(" ", "") if iban else None,
            "line_items": li,
        }
        text = json.dumps(out, ensure_ascii=False, indent=2 if rng.random() < 0.3 else None)
        if v == "i1_system_schema_image":
            msgs = [_sys(_INVOICE_SYS_1), _user([
                {"type": "text", "text": f"Extract the fields from this invoice. The scan is attached; OCR text below.\n\n{ocr}"}, img])]
        else:
            msgs = [_user([img, {"type": "text", "text": (
                "Return only JSON with keys supplier_name, invoice_number, invoice_date, due_date, currency, subtotal, "
                "tax_rate, tax_amount, total, payment_iban, line_items for the attached invoice scan. "
                f"OCR output (may contain errors):\n\n{ocr}")}])]
            if rng.random() < 0.5:
                text = "```json\n" + text + "\n```"
    return Draft("invoice_extraction", "invoice_extraction." + v, msgs, text, pii=pii, temperature=0.0,
                 max_tokens=rng.choice((800, 1000, 1500)), feature="ap-invoice-batch")


# ==================================================================================== 4. keyword / tag extraction
_NPS = {
    "onboarding": (("Onboarding was smooth, we had our first dashboard live within a day.", ("onboarding", "time to value")),
                   ("The setup wizard skips the step where you connect a warehouse, which confused half my team.", ("setup wizard", "warehouse connection")),
                   ("Great kickoff call, then nobody followed up for three weeks.", ("onboarding", "follow-up"))),
    "pricing": (("Per-seat pricing gets expensive fast as we add viewers.", ("seat pricing", "viewers")),
                ("The jump from Growth to Business is too big for a team our size.", ("plan tiers", "pricing")),
                ("Good value compared to {competitor}.", ("value", "{competitor_l}"))),
    "performance": (("Dashboards with more than a dozen charts take ages to load.", ("slow dashboards", "load time")),
                    ("Queries against Snowflake time out during month-end close.", ("query timeouts", "snowflake")),
                    ("Much faster since the last update, thank you.", ("speed", "release"))),
    "dashboards": (("Building dashboards is genuinely intuitive.", ("dashboard builder", "ease of use")),
                   ("I wish I could copy a dashboard from one workspace to another.", ("copy dashboard", "workspaces")),
                   ("Drill-downs are the killer feature for our ops team.", ("drill-down", "ops"))),
    "connectors": (("The HubSpot connector misses our custom properties.", ("hubspot", "custom properties")),
                   ("Setting up the BigQuery connector took five minutes.", ("bigquery", "setup")),
                   ("Salesforce sync breaks every time an admin renames a field.", ("salesforce", "sync failures"))),
    "alerts": (("Alerts are too noisy and we can't set thresholds per region.", ("alert noise", "thresholds")),
               ("Slack alerts caught two revenue drops for us this quarter.", ("slack alerts", "revenue monitoring"))),
    "support": (("Support is fantastic, they solved our SSO issue within an hour.", ("support quality", "sso")),
                ("Support takes days to answer unless you're on Enterprise.", ("support response time", "enterprise"))),
    "documentation": (("The docs for calculated fields are out of date.", ("documentation", "calculated fields")),
                      ("API docs need examples in Python.", ("api docs", "python examples"))),
    "permissions": (("Managing permissions for 200 viewers one by one is painful.", ("permissions", "user management")),
                    ("We need groups synced from Okta instead of manual invites.", ("okta", "group sync"))),
    "exports": (("Excel exports lose all number formatting.", ("excel export", "formatting")),
                ("Scheduled PDF reports look great in the board pack.", ("pdf reports", "scheduling"))),
    "mobile": (("The mobile app is basically unusable on small screens.", ("mobile app", "responsive layout")),
               ("Checking KPIs on my phone before standup is handy.", ("mobile", "kpis"))),
    "forecasting": (("Forecasts have been surprisingly accurate for our inventory planning.", ("forecasting", "inventory planning")),
                    ("The forecasting model ignores the seasonality in our data.", ("forecast accuracy", "seasonality"))),
    "api": (("API rate limits are too low for our embedded use case.", ("api rate limits", "embedded analytics")),
            ("Would love a GraphQL API.", ("graphql", "api"))),
}
_TOPICS = tuple(_NPS)
_ARTICLES = (
    ("Connect Snowflake with key-pair authentication", "This guide walks through creating a service user in Snowflake, generating an RSA key pair and adding the public key to the user, then pasting the private key into the Northwind connector settings. Key-pair auth is required once password logins are disabled for service users.", ("snowflake", "authentication", "connectors", "security")),
    ("Schedule a dashboard as a PDF", "You can send any dashboard as a PDF to email recipients or a Slack channel on a daily, weekly or monthly schedule. Filters are applied as saved; recipients without a seat receive a static snapshot.", ("scheduling", "pdf", "exports", "slack")),
    ("Row-level security with user attributes", "User attributes let you restrict which rows each viewer sees. Define an attribute such as region, map it to a column in your model, and every query will be filtered automatically for users who have a value set.", ("row-level security", "permissions", "user attributes")),
    ("Why does my forecast show a flat line?", "Flat forecasts usually mean the series has fewer than 60 data points or a long run of missing values. Check the date granularity, fill gaps in the source table, and make sure the metric is not filtered to a single day.", ("forecasting", "troubleshooting", "data quality")),
    ("Managing seats and billing", "Workspace owners can add or remove seats from the Billing page. Removed seats stay active until the end of the billing period, and changes are prorated on the next invoice.", ("billing", "seats", "workspace admin")),
    ("Set up SAML SSO with Okta", "Create a SAML 2.0 app in Okta, copy the single sign-on URL and entity ID from Northwind, upload the Okta signing certificate, and test with a single user before enforcing SSO for the whole workspace.", ("sso", "okta", "saml", "authentication")),
    ("Alert thresholds and schedules", "Alerts compare a metric to a fixed threshold or to its own history. You can limit when an alert is evaluated, for example only on weekdays during business hours, and route notifications to email, Slack or a webhook.", ("alerts", "thresholds", "notifications")),
    ("Embedding dashboards in your app", "Embedded dashboards are served through signed URLs that expire after a configurable time. Generate the URL on your server with the embed secret, pass user attributes to apply row-level security, and place it in an iframe.", ("embedded analytics", "security", "api")),
    ("Incremental syncs explained", "Incremental syncs only fetch rows whose cursor column changed since the last run. Choose a column that is updated on every change, such as updated_at, and add a primary key so updated rows replace old versions instead of duplicating them.", ("connectors", "incremental sync", "data quality")),
    ("Exporting your workspace", "Owners can export all dashboards, saved queries and alert definitions as a ZIP of JSON files from Settings > Export. Raw data stays in your warehouse and is not part of the export.", ("exports", "workspace admin", "data portability")),
)
_KW_SYS_1 = (
    "Extract 2-6 short keywords or keyphrases from the customer feedback. Lowercase, comma-separated, most "
    "important first. Output only the keywords."
)
_KW_SYS_3 = (
    "You tag help-center articles. Given an article title and its first paragraph, return a JSON array of 3-5 "
    "lowercase tags. Prefer existing tags such as: connectors, exports, permissions, billing, alerts, forecasting, "
    "security, api, sso, scheduling."
)


def build_keyword_extraction(rng: random.Random, ctx: Ctx) -> Draft:
    v = rng.choices(("k1_keywords_free", "k2_taxonomy_json", "k3_article_tags"), weights=(4, 4, 2))[0]
    comp = rng.choice(COMPETITORS)
    if v == "k3_article_tags":
        title, para, tags = rng.choice(_ARTICLES)
        meta = f"Article: KB-{rng.randint(1000, 4999)}  |  Locale: en-US  |  Last updated: {_fmt_date(ctx.when - timedelta(days=rng.randint(1, 400)), 0)}"
        msgs = [_sys(_KW_SYS_3), _user(f"{meta}\nTitle: {title}\n\n{para}")]
        out = json.dumps(list(tags))
        return Draft("keyword_extraction", "keyword_extraction." + v, msgs, out, temperature=0.0, max_tokens=60,
                     feature="help-center-tagging")
    topics = rng.sample(_TOPICS, rng.choice((1, 2, 2, 3)))
    frags, kws = [], []
    for t in topics:
        text, kw = rng.choice(_NPS[t])
        frags.append(text.format(competitor=comp))
        kws.extend(k.format(competitor_l=comp.lower()) for k in kw)
    score = rng.randint(0, 10)
    comment = " ".join(frags)
    if rng.random() < 0.2:
        comment = comment.lower()
    if v == "k1_keywords_free":
        msgs = [_sys(_KW_SYS_1), _user(f"NPS score: {score}\nComment: {comment}")]
        out = ", ".join(kws)
    else:
        msgs = [_user(
            "Tag this customer comment with every matching topic from the taxonomy below and return a JSON object "
            '{"topics": [...], "sentiment": "positive|negative|neutral"}.\n'
            f"Taxonomy: {', '.join(_TOPICS)}\n\nComment (NPS {score}/10): \"{comment}\"")]
        sent = "positive" if score >= 9 else "negative" if score <= 6 else "neutral"
        out = json.dumps({"topics": topics, "sentiment": sent})
    return Draft("keyword_extraction", "keyword_extraction." + v, msgs, out, temperature=0.0,
                 max_tokens=rng.choice((40, 60, 100)), feature="nps-tagging")


# ====================================================================================== 5. meeting-notes summaries
# A meeting type: (title, role names, topics). A topic: (lines, summary, decision | None, action | None) where a
# line is (role, text) and an action is (role, text, due_in_days). Roles are letters mapped to attendee first names.
_MEETINGS = (
    ("Connectors squad - sprint planning", ("EM", "PM", "Eng", "Eng"), (
        ((("A", "Okay, let's start with carryover. The {connector} incremental sync fix didn't make it last sprint."),
          ("C", "Yeah, the cursor handling is done but the backfill script needs another two days. I underestimated the edge cases with deleted records."),
          ("B", "Is that still blocking {customer}? They've asked about it twice this week."),
          ("C", "It is. I can pick it up first thing tomorrow."),
          ("A", "Let's carry it over and make it the top item.")),
         "The {connector} incremental-sync fix slipped (the backfill script needs about two more days) and carries over as the top priority because it still blocks {customer}.",
         "The {connector} sync fix is the top priority this sprint.", ("C", "Finish the {connector} backfill script and ship the sync fix", 3)),
        ((("A", "Capacity-wise, {D} is out Thursday and Friday, and I have two days of interviews."),
          ("B", "So roughly {points} points?"),
          ("A", "{points}, maybe {points2} if nothing catches fire."),
          ("D", "I can take the smaller tickets before I leave.")),
         "Capacity is roughly {points} story points with {D} out Thursday-Friday and {A} interviewing two days.", None, None),
        ((("B", "The big new item is the {connector2} connector. Sales has {n} open deals that mention it."),
          ("D", "I looked at their API. Pagination is cursor-based, the rate limit is 100 requests per minute, and they have change webhooks."),
          ("A", "Can we scope a read-only MVP for this sprint?"),
          ("D", "Read-only with the five core objects, yes. Custom objects would be next sprint."),
          ("B", "That works for the design partner, they mostly need the core objects anyway."),
          ("C", "Let's make sure we reuse the new auth module so we don't build another OAuth flow.")),
         "The team scoped a read-only MVP of the {connector2} connector (five core objects, custom objects next sprint), driven by {n} open deals.",
         "Build a read-only {connector2} MVP this sprint, reusing the shared auth module.", ("D", "Write the {connector2} connector design doc and share it with the team", 2)),
        ((("C", "On-call was noisy. We had {n} pages, and most of them were the {connector} rate-limit alert."),
          ("A", "Can we raise the threshold, or make it a warning instead of a page?"),
          ("C", "I'd make it a warning and only page if syncs have been failing for more than 30 minutes."),
          ("B", "From the customer side nobody noticed those, so that sounds fine."),
          ("A", "Agreed, let's do that.")),
         "On-call was noisy ({n} pages, mostly the {connector} rate-limit alert).",
         "Downgrade the rate-limit alert to a warning; page only after 30 minutes of failing syncs.", ("C", "Change the rate-limit alert routing", 1)),
        ((("D", "Can we reserve time for the retry library? Every connector has its own backoff logic and they all behave differently."),
          ("B", "How much time are we talking about?"),
          ("D", "About three days for the shared library, then roughly half a day per connector."),
          ("A", "Let's build the library this sprint and migrate two connectors as a pilot. The rest goes on the roadmap."),
          ("C", "I'd pick {connector} and {connector2}, they have the worst retry behaviour today.")),
         "The team agreed to build a shared retry library and pilot it on {connector} and {connector2}.",
         "Build the shared retry library; migrate two connectors as a pilot.", ("D", "Build the shared retry library and migrate {connector} and {connector2}", 9)),
    )),
    ("Weekly pipeline review - Sales", ("VP Sales", "AE", "AE", "Sales Ops"), (
        ((("B", "{customer} is at proposal stage, {amount}k ARR. They want a three-year term with a price lock."),
          ("A", "Who are we up against?"),
          ("B", "{competitor}. They're cheaper per seat, but we're winning on forecasting and the connector coverage."),
          ("A", "Offer the price lock for a three-year term, but no extra discount beyond twelve percent."),
          ("B", "Understood. Their procurement wants the paperwork by the end of next week.")),
         "{customer} ({amount}k ARR) is at proposal stage against {competitor} and wants a three-year price lock.",
         "Offer {customer} a three-year price lock with no discount beyond 12%.", ("B", "Send the revised three-year proposal to {customer}", 2)),
        ((("C", "{customer2} slipped to next quarter. Their CFO froze all new software spend until January."),
          ("A", "Anything we can do to keep it warm?"),
          ("C", "I'm going to propose a paid pilot for their finance team at a reduced price."),
          ("A", "Fine, but keep it under ten thousand and make sure it converts automatically."),
          ("D", "I'll move it out of commit in the forecast.")),
         "{customer2} slipped to next quarter because of a spending freeze; a small paid pilot will be proposed.",
         "Paid pilot for {customer2} capped at $10k with automatic conversion.", ("C", "Propose the paid pilot to {customer2}", 5)),
        ((("D", "Commit for the quarter is {commit} million, best case {best}. We're at {pct} percent of target with {weeks} weeks left."),
          ("A", "Half the pipeline has close dates in the past. I need everyone to update close dates by Friday."),
          ("B", "Some of those are deals waiting on legal, should we push them a month?"),
          ("A", "Push them to a realistic date. I'd rather have an honest forecast than a pretty one.")),
         "Commit stands at ${commit}M (best case ${best}M), {pct}% of target with {weeks} weeks left; many close dates are stale.",
         "All AEs update stale close dates by Friday.", ("D", "Send the stale close-date report to all AEs", 1)),
        ((("B", "That's the third deal this month where a usage-based pricing tier came up."),
          ("C", "Same with {customer3}. They have lots of viewers who log in once a month."),
          ("A", "Product is looking at usage-based pricing for next year. Don't promise anything, but log every request in the CRM field so we have data."),
          ("D", "I'll add a picklist value so it's easy to report on.")),
         "Prospects increasingly ask for usage-based pricing; requests will be tracked in the CRM.", None, ("D", "Add a 'usage-based pricing' reason to the CRM loss/objection field", 3)),
        ((("C", "{customer3}'s renewal is at risk. Our champion there left last month."),
          ("A", "Do we know who replaced her?"),
          ("C", "Their new head of data, I've only had one short call with him."),
          ("A", "Loop in customer success and let's get an exec sponsor call on the calendar before the renewal notice period."),
          ("B", "I can share the usage numbers, their forecasting adoption went up a lot this quarter.")),
         "The {customer3} renewal is at risk after their champion left; an exec sponsor call is needed.",
         None, ("A", "Set up an exec sponsor call with {customer3}", 4)),
    )),
    ("Incident postmortem - dashboard outage", ("Incident lead", "SRE", "Backend Eng", "Support Lead"), (
        ((("B", "Timeline first. At {t1} UTC the query service started returning 502s. The alert fired four minutes later."),
          ("B", "We identified the bad deploy around {t2} and rolled back at {t3}. Error rates were back to normal a few minutes after."),
          ("A", "So roughly {mins} minutes of customer impact?"),
          ("B", "Yes, for dashboards and scheduled reports. The API was mostly fine.")),
         "Dashboards and scheduled reports returned errors for about {mins} minutes (from {t1} UTC) until the release was rolled back at {t3}.", None, None),
        ((("C", "Root cause was a connection-pool change in release {version}. Under load the pool was exhausted and requests queued until they timed out."),
          ("A", "Why didn't staging catch it?"),
          ("C", "Staging doesn't get anywhere near production concurrency. The change looked harmless in review."),
          ("B", "We also didn't have a metric for pool saturation, so it took a while to see what was happening.")),
         "Root cause: a connection-pool change in release {version} exhausted the pool under production load; staging did not reproduce it and pool saturation was not monitored.",
         None, ("C", "Add a load test for connection-pool settings to the release pipeline", 10)),
        ((("D", "We got {n} tickets, including {customer} and {customer2}, who both had exec reviews that morning."),
          ("D", "The status page went up twelve minutes after the first alert, which is too slow. Customers found out from their own users."),
          ("A", "Agreed. Can we automate a status-page draft when the error-rate alert fires?"),
          ("B", "Yes, we can create it as a draft so a human still approves it.")),
         "Support received {n} tickets (including {customer} and {customer2}); the status page was updated too late (12 minutes).",
         "Auto-create a status-page draft when the error-rate alert fires.", ("B", "Automate the status-page draft from the error-rate alert", 7)),
        ((("A", "What went well?"),
          ("B", "The rollback was quick, under five minutes once we decided. The runbook was accurate."),
          ("C", "And the on-call handoff was clean, everyone knew who was leading."),
          ("A", "Good. Let's keep the runbook as the template for the others.")),
         "The rollback and incident coordination went well; the runbook was accurate.", None, None),
        ((("A", "One more thing: do we owe credits?"),
          ("D", "Enterprise customers have a 99.9 percent SLA. This incident alone puts a few of them under it for the month."),
          ("A", "Let's proactively offer the credits rather than wait for them to ask."),
          ("D", "I'll draft the email and get finance to sign off.")),
         "The outage breaches the 99.9% SLA for some Enterprise customers.",
         "Proactively offer SLA credits to affected Enterprise customers.", ("D", "Draft the SLA credit email and get finance sign-off", 2)),
    )),
    ("Q4 launch sync - Marketing", ("PMM", "Content", "Design", "Demand Gen"), (
        ((("A", "Launch date is still {date} for Forecasting 2.0. Engineering confirmed the feature flag plan this morning."),
          ("D", "Good, then the email sequence can go out the same morning, 9am Eastern."),
          ("C", "I need final screenshots by Monday or the landing page slips."),
          ("A", "I'll get you access to the staging workspace today.")),
         "Forecasting 2.0 launches on {date}; the email sequence goes out the same morning.", None, ("A", "Give design access to the staging workspace for final screenshots", 0)),
        ((("B", "Blog post draft is done, it's about 1,200 words. I still need a customer quote."),
          ("A", "{customer} agreed to be quoted, but legal on their side has to approve the wording."),
          ("B", "If it's not approved by Wednesday I'll use the benchmark numbers instead."),
          ("D", "The benchmark numbers are strong anyway, forecast error down {pct} percent.")),
         "The launch blog post is drafted and waits on a customer quote from {customer} (fallback: benchmark data, {pct}% lower forecast error).",
         "Use benchmark numbers if the {customer} quote is not approved by Wednesday.", ("B", "Chase the {customer} quote approval", 2)),
        ((("D", "The webinar has {n} registrations so far. Target was 400."),
          ("A", "Can we do a second push through partners?"),
          ("D", "Yes, {competitor} users are a good audience too, we have a comparison page we can promote."),
          ("C", "I'll make a smaller banner set for partner newsletters.")),
         "Webinar registrations stand at {n} against a target of 400; a partner push is planned.", None, ("D", "Run a partner newsletter push for the webinar", 5)),
        ((("A", "Localization: we're launching in German and French this time."),
          ("B", "The translations for the landing page are back, but the product UI strings are still with the agency."),
          ("A", "We can't launch in German without the in-app strings. Can we get a date from them?"),
          ("B", "They said end of next week. I'll ask whether they can split it and send the onboarding flow first.")),
         "German and French launch: landing-page translations are done, in-app UI strings are still with the agency.",
         None, ("B", "Get a delivery date for the in-app German/French strings from the agency", 1)),
        ((("C", "Pricing page: do we show the forecasting add-on price or say 'contact sales'?"),
          ("A", "Show it. We got a lot of feedback that hidden pricing slows deals down."),
          ("D", "Agreed, and it helps paid search, the landing page converts better with prices on it."),
          ("C", "Okay, I'll update the mockups.")),
         "The pricing page will show the forecasting add-on price instead of 'contact sales'.",
         "Show the add-on price publicly on the pricing page.", ("C", "Update the pricing page mockups with the add-on price", 3)),
    )),
    ("QBR prep - {customer}", ("CSM", "Account Exec", "Solutions Eng"), (
        ((("A", "Usage first: weekly active users went from {n} to {n2} this quarter, mostly their finance team."),
          ("C", "And query volume doubled since they connected {connector}."),
          ("B", "That's the headline for the deck.")),
         "{customer}'s weekly active users grew from {n} to {n2} this quarter, and query volume doubled after connecting {connector}.", None, None),
        ((("A", "They still have {k} open tickets. Two are about slow dashboards, one is a feature request for Teams alerts."),
          ("C", "The slow dashboards are because of a huge unfiltered table, I can show them aggregate tables."),
          ("A", "Let's put a short optimization session on the QBR agenda then.")),
         "{customer} has {k} open tickets, mainly slow dashboards caused by an unfiltered table.",
         "Add a dashboard-optimization segment to the QBR agenda.", ("C", "Prepare a 15-minute dashboard optimization walkthrough", 5)),
        ((("B", "Expansion: their operations team wants access, that's about {seats} more seats."),
          ("A", "Their budget cycle starts in January, so we should plant the seed now and send a quote in December."),
          ("B", "I'll prepare a quote with the annual discount.")),
         "There is an expansion opportunity of about {seats} seats for {customer}'s operations team, timed to their January budget cycle.", None, ("B", "Prepare an expansion quote for the operations team", 14)),
        ((("A", "Risk: their exec sponsor is moving to a different role at the end of the month."),
          ("B", "Do we know who takes over?"),
          ("A", "Not yet. I'll ask during the QBR and try to get an intro."),
          ("C", "Their data engineer is a big fan, we could ask him to introduce us too.")),
         "Risk: {customer}'s exec sponsor is changing roles; the successor is unknown.", None, ("A", "Identify and get an intro to the new exec sponsor", 7)),
    )),
)
_FILLERS = (
    "Can everyone see my screen?", "Sorry, I was on mute.", "Let's give people one more minute.",
    "Quick one before we move on.", "Sounds good.", "Yeah, agreed.", "Makes sense.", "Okay, next item.",
    "Let me check and get back to you.", "I'll drop the link in the chat.", "Can you repeat that? You cut out for a second.",
)


_GENERIC_TOPICS = (
    ((("A", "Quick hiring update: we have two final-round candidates for the {role} role."),
      ("B", "I interviewed both. The first one is stronger technically, the second has a lot more customer-facing experience."),
      ("C", "Given what we need next quarter, I'd lean towards the first one, but it's close."),
      ("B", "The second one also asked for a later start date, mid-January."),
      ("A", "Okay, let's do a proper debrief tomorrow and decide then. Please get your written feedback in tonight.")),
     "There are two final-round candidates for the {role} role; a debrief tomorrow will decide.", None, ("A", "Schedule the {role} candidate debrief", 1)),
    ((("A", "The offsite in {city} is confirmed for {date2}. Flights are booked for everyone except two people."),
      ("B", "Do we have an agenda yet? Last time it was mostly presentations."),
      ("A", "Not yet. I'd like at least half of it to be working sessions instead of slides."),
      ("C", "Could we do one session on the roadmap and one on customer feedback?"),
      ("A", "Good idea. Send me your topic suggestions by Friday and I'll draft the agenda.")),
     "The {city} offsite on {date2} is confirmed; the agenda should be at least half working sessions.", None, ("A", "Draft the offsite agenda from everyone's suggestions", 4)),
    ((("B", "Finance asked every team to cut five percent from next quarter's software budget."),
      ("A", "Where does that hurt least for us?"),
      ("B", "We pay for two screen-recording tools and nobody uses the second one. That alone is almost half of it."),
      ("C", "We could also move the design tool to annual billing, that's another discount."),
      ("A", "Let's do both and report back to finance.")),
     "Finance requested a 5% software budget cut; the team will drop an unused screen-recording tool and move the design tool to annual billing.",
     "Cancel the unused screen-recording tool and switch the design tool to annual billing.", ("B", "Cancel the second screen-recording tool and report the savings to finance", 5)),
    ((("C", "{customer} sent us a long list of feedback after the beta."),
      ("A", "Anything surprising in there?"),
      ("C", "Mostly small things. The biggest one is that exports don't respect the filters that are applied on the dashboard."),
      ("B", "That's a bug, not feedback. I'll open a ticket."),
      ("C", "They also want the weekly digest to be customizable, which a few other customers asked for too."),
      ("A", "Let's collect those requests in one place before we decide anything.")),
     "{customer}'s beta feedback surfaced an export bug (filters ignored) and requests for a customizable weekly digest.", None, ("B", "Open a bug ticket for exports ignoring dashboard filters", 1)),
    ((("A", "Process experiment: I'd like to try async standups in Slack for the next two weeks."),
      ("B", "I'm in favour, the daily call is hard with the time zones."),
      ("C", "As long as we keep one live sync a week, otherwise we'll never talk to each other."),
      ("A", "Fair. Async daily, live on Wednesdays, and we review how it went in two weeks.")),
     "The team will trial async Slack standups for two weeks, keeping a live sync on Wednesdays.",
     "Trial async standups for two weeks with a weekly live sync.", None),
    ((("B", "We're moving from Jira to Linear at the start of next month."),
      ("C", "What happens to the old tickets?"),
      ("B", "Open tickets get migrated automatically. Closed ones stay in Jira, read-only, for a year."),
      ("A", "Please clean up your open tickets before the migration, half of them are probably stale."),
      ("C", "I'll close everything older than six months that nobody has touched.")),
     "The team moves from Jira to Linear next month; open tickets migrate automatically, so stale tickets should be closed first.", None, ("C", "Close stale tickets older than six months before the migration", 6)),
)
_CHATTER = (
    (("B", "Do we have data on that, or is it a gut feeling?"), ("A", "Some data. I'll share the dashboard after the call.")),
    (("C", "Let's not overthink it, we can revisit next week if it doesn't work."),),
    (("A", "Can someone take notes on this part? I keep forgetting."), ("B", "I've got it.")),
    (("B", "Just to confirm, is this in scope for this quarter or the next one?"), ("A", "This quarter, if we can.")),
    (("C", "I'll write it up in the doc so people who aren't here can see the reasoning."),),
    (("A", "Any objections?"), ("B", "None from me."), ("C", "Fine by me.")),
)
_ROLES_HIRE = ("senior data engineer", "product designer", "account executive", "support lead", "solutions engineer")
_CITIES = ("Lisbon", "Chicago", "Amsterdam", "Barcelona", "Denver", "Dublin")


def _meeting(rng: random.Random, when: datetime, pii: list[str]) -> tuple[str, list[str], str, list[tuple[str, str, str]], list[str], list[str]]:
    title, _roles, topics = rng.choice(_MEETINGS)
    letters = ("A", "B", "C", "D")[: len(_roles)]
    names = []
    for _ in letters:
        f = rng.choice(FIRST_NAMES)
        while f in names:
            f = rng.choice(FIRST_NAMES)
        names.append(f)
    who = dict(zip(letters, names))
    c1, c2, c3 = rng.sample(CUSTOMERS, 3)
    k1, k2 = rng.sample(CONNECTORS, 2)
    hh = rng.randint(7, 16)
    n = rng.randint(3, 40)
    slots = dict(who, connector=k1, connector2=k2, customer=c1[0], customer2=c2[0], customer3=c3[0], n=n,
                 n2=n + rng.randint(5, 60), points=rng.randint(24, 40), amount=rng.randint(40, 260),
                 competitor=rng.choice(COMPETITORS), commit=f"{rng.uniform(2.1, 4.8):.1f}",
                 best=f"{rng.uniform(4.9, 6.5):.1f}", pct=rng.randint(18, 85), weeks=rng.randint(2, 9),
                 t1=f"{hh:02d}:{rng.randint(0, 50):02d}", t2=f"{hh:02d}:{rng.randint(51, 59):02d}",
                 t3=f"{hh + 1:02d}:{rng.randint(5, 40):02d}", mins=rng.randint(35, 95),
                 version=f"2026.{when.month}.{rng.randint(1, 9)}", date=_fmt_date(when + timedelta(days=rng.randint(7, 30)), 1),
                 k=rng.randint(3, 6), seats=rng.randint(10, 60))
    slots["points2"] = slots["points"] + rng.randint(3, 8)
    slots["role"] = rng.choice(_ROLES_HIRE)
    slots["city"] = rng.choice(_CITIES)
    slots["date2"] = _fmt_date(when + timedelta(days=rng.randint(20, 60)), 1)
    title = title.format(**slots)
    own = sorted(rng.sample(range(len(topics)), min(len(topics), rng.choice((3, 3, 4, 4, 5)))))
    chosen = [topics[i] for i in own]
    for g in rng.sample(range(len(_GENERIC_TOPICS)), rng.choice((0, 1, 1, 2, 2, 3))):
        chosen.insert(rng.randint(1, len(chosen)), _GENERIC_TOPICS[g])
    lines: list[str] = []
    summaries, decisions, actions = [], [], []
    stamp = rng.choice((True, False, False))
    t = 0
    first_topic = True
    for tlines, summ, dec, act in chosen:
        if rng.random() < 0.35:
            extra = rng.choice(_CHATTER)
            tlines = tlines[:-1] + tuple((r if r in letters else "A", x) for r, x in extra) + tlines[-1:]
        for ri, (role, text) in enumerate(tlines):
            if rng.random() < 0.12 and not first_topic:
                lines.append((rng.choice(letters), rng.choice(_FILLERS)))
            lines.append((role, text.format(**slots)))
            if ri == 0 and first_topic and rng.random() < 0.5:
                lines.insert(0, ("A", rng.choice(("Let's get started.", "Okay, I think we're all here.", "Thanks everyone for joining."))))
        first_topic = False
        summaries.append(summ.format(**slots))
        if dec:
            decisions.append(dec.format(**slots))
        if act:
            due = when + timedelta(days=act[2])
            actions.append((who[act[0]], act[1].format(**slots), _fmt_date(due, 2)))
    if rng.random() < 0.12:
        caller = rng.choice(letters)
        lines.insert(rng.randint(1, len(lines) - 1), (caller, f"If anything blows up while I'm travelling, call me on {pii_phone(rng)}."))
        pii.append("PHONE")
    if rng.random() < 0.06:
        f, ln = person(rng)
        cust = rng.choice(CUSTOMERS)
        lines.insert(rng.randint(1, len(lines) - 1), (rng.choice(letters), f"Their new contact is {f} {ln}, {pii_email(rng, f, ln, cust[1])}, I'll add them to the thread."))
        pii.append("EMAIL")
    out_lines = []
    for role, text in lines:
        if stamp:
            t += rng.randint(8, 95)
            out_lines.append(f"[{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}] {who[role]}: {text}")
        else:
            out_lines.append(f"{who[role]}: {text}")
    return title, names, "\n".join(out_lines), actions, summaries, decisions


_MEET_SYS_1 = (
    "You summarise internal meeting transcripts for Northwind Analytics. Write a short summary (2-4 sentences), "
    "then a 'Decisions' list and an 'Action items' list with the owner and due date for each item. Do not invent "
    "information that is not in the transcript."
)
_MEET_SYS_3 = (
    "Turn the meeting transcript into a Slack update for people who missed the meeting: a bold TL;DR line, at most "
    "five bullets, then next steps as 'owner -> task'. Plain Slack markdown, no headings."
)


def build_meeting_summary(rng: random.Random, ctx: Ctx) -> Draft:
    pii: list[str] = []
    title, names, transcript, actions, summaries, decisions = _meeting(rng, ctx.when, pii)
    header = f"Meeting: {title}\nDate: {_fmt_date(ctx.when, 1)}\nAttendees: {', '.join(names)}\n\n"
    v = rng.choices(("m1_structured_system", "m2_casual_no_system", "m3_slack_tldr"), weights=(5, 3, 3))[0]
    if v == "m1_structured_system":
        msgs = [_sys(_MEET_SYS_1), _user(header + "Transcript:\n" + transcript)]
        out = "Summary:\n" + " ".join(summaries) + "\n\nDecisions:\n"
        out += "\n".join(f"- {d}" for d in decisions) if decisions else "- No formal decisions were made."
        out += "\n\nAction items:\n" + ("\n".join(f"- {o}: {a} (due {d})" for o, a, d in actions) or "- None recorded.")
    elif v == "m2_casual_no_system":
        ask = rng.choice(("Can you summarize these notes and pull out the action items?",
                          "summarize pls + list action items with owners",
                          "Please give me a concise summary of this meeting and who owns what.",
                          "I missed this meeting. What happened and what do I need to know?"))
        msgs = [_user(f"{ask}\n\n{header}{transcript}")]
        out = "Here's a summary of the meeting:\n\n**Key points**\n" + "\n".join(f"- {s}" for s in summaries)
        if decisions:
            out += "\n\n**Decisions**\n" + "\n".join(f"- {d}" for d in decisions)
        out += "\n\n**Action items**\n" + ("\n".join(f"- [ ] {a} - {o}, by {d}" for o, a, d in actions) or "- No action items were assigned.")
    else:
        msgs = [_sys(_MEET_SYS_3), _user(transcript)]
        out = f"*TL;DR: {summaries[0]}*\n" + "\n".join(f"• {s}" for s in summaries[1:5])
        if actions:
            out += "\n*Next steps:* " + "; ".join(f"{o} -> {a.lower()[0] + a[1:]}" for o, a, _ in actions)
    return Draft("meeting_summary", "meeting_summary." + v, msgs, out, pii=pii, temperature=0.3,
                 max_tokens=rng.choice((800, 1024, 1500)), feature="notes-bot")


# ========================================================================================= 6. customer-email drafting
# purpose: (incoming customer email | None, key points, subject, paragraphs for the reply)
_EMAIL_PURPOSES = {
    "outage_apology": (
        ("Your dashboards were down for about {mins} minutes on {date}, right in the middle of our board prep. This is the second time this quarter. What exactly happened and what are you doing to make sure it doesn't happen again?",
         "We lost access to every dashboard this morning ({date}) for over half an hour. Our CEO was presenting from Northwind. I need an explanation and I'd like to understand what compensation you offer."),
        "apologise; root cause was a connection-pool change in a release, rolled back within the hour; we're adding load tests and a saturation alert; {credit}% service credit per the SLA; offer a call with our VP Engineering",
        ("Re: Outage on {date}", "Our apologies for the disruption on {date}"),
        ("I'm very sorry about the outage on {date}, and especially that it hit during your board preparation. That's exactly the moment you should be able to rely on us, and we let you down.",
         "Here's what happened: a configuration change to our database connection pool shipped in a release that morning. Under peak load the pool ran out of connections, so dashboard queries queued and timed out. Our team rolled the release back and service was fully restored about {mins} minutes after the first errors.",
         "To make sure this doesn't happen again, we're adding load tests for these settings to every release and a new alert that fires before the pool is saturated. We're also automating our status page so you hear from us faster.",
         "Under your SLA you're entitled to a {credit}% service credit for this month, and I've already applied it to your next invoice. If it would help, our VP of Engineering is happy to walk you and your team through the incident on a short call."),
    ),
    "billing_error": (
        ("We were charged for {n} seats that we removed back in {month}. Can you fix this and refund the difference?",
         "Invoice {inv} is wrong again, we're still paying for {n} seats we don't use. Please correct it."),
        "confirm we found the error (seat removal didn't sync to billing); refund of {amount} issued, 5-7 business days; corrected invoice attached; fix applied so it won't recur",
        ("Re: Seat charges on your invoice", "Refund for the extra seats"),
        ("Thank you for flagging this, and I'm sorry for the hassle. You're right: the {n} seats you removed in {month} were still being billed.",
         "The seat change didn't sync to our billing system because of a bug on our side. We've fixed the bug and corrected your subscription, and I've issued a refund of {amount}. It should appear on your statement within 5-7 business days.",
         "I've attached the corrected invoice for your records. Your next invoice will reflect the right number of seats."),
    ),
    "feature_followup": (
        ("Any update on the Microsoft Teams integration for scheduled reports? You mentioned it months ago.",
         "Following up on our request for locked dashboard filters. Is this on your roadmap?"),
        "it's planned for Q1 but we can't commit to a date yet; offer beta access; we've added their use case to the request",
        ("Re: Your feature request", "Update on your request"),
        ("Thanks for following up, and for your patience on this one.",
         "The short answer is that it's on our roadmap for Q1. I can't promise an exact date yet, because the team is still finalizing the design, but it's actively being worked on.",
         "I've added your use case to the request so the product team has it in front of them, and I'd love to get you into the beta as soon as it opens. Would that be useful for your team?"),
    ),
    "renewal_outreach": (
        None,
        "upcoming renewal on {date}; their usage is up {pct}% this year; new forecasting features; offer a 30-minute review call",
        ("Your Northwind renewal on {date}", "Looking ahead to your renewal"),
        ("I hope things are going well at {customer}. Your Northwind subscription renews on {date}, so I wanted to reach out early.",
         "It's been a great year on our side: your team's usage is up {pct}% since last year, and the {team} team in particular has made Northwind part of their weekly routine.",
         "We've also released a lot since your last renewal, including Forecasting 2.0 with seasonality support and scheduled exports to Slack and email. Several of these came directly from your team's feedback.",
         "Could we find 30 minutes in the next couple of weeks to review how things are going and make sure your plan still fits? Let me know what works for you."),
    ),
    "onboarding_followup": (
        None,
        "thanks for the kickoff call; next steps: connect {connector}, invite the first five users, training session on {date}; share the onboarding checklist",
        ("Next steps after our kickoff", "Great to meet you - onboarding next steps"),
        ("Thanks again for your time at today's kickoff. It was great to hear what you want to achieve with Northwind.",
         "As discussed, here are the next steps:\n1. Connect your {connector} account (the setup guide is linked in the checklist).\n2. Invite the first five users from your {team} team.\n3. Join our hands-on training session on {date}.",
         "I've attached the onboarding checklist so everyone on your side can track progress. If anything gets stuck, just reply to this email and I'll jump in."),
    ),
    "price_change": (
        None,
        "list prices increase 8% on January 1; existing customers keep their current price until renewal; annual plans renewed before Dec 15 lock the current price for another year",
        ("Upcoming changes to Northwind pricing", "An update on our pricing"),
        ("I wanted to let you know personally about an upcoming change to our pricing.",
         "On January 1, our list prices will increase by 8%. This is the first increase in two years, and it reflects the significant investment we've made in forecasting, connectors and performance.",
         "Nothing changes for you until your renewal. And if you renew your annual plan before December 15, we'll lock in your current price for another full year.",
         "If you have any questions, or want to talk through the options, I'm happy to set up a call."),
    ),
    "retention": (
        ("We've decided not to renew. Please let us know how to export our dashboards before the contract ends on {date}.",
         "We're moving to {competitor} at the end of the month. How do we get our data out?"),
        "sorry to see them go; how to export (Settings > Export, ZIP of JSON, data stays in their warehouse); offer two months at 50% if they reconsider; ask for feedback",
        ("Re: Your renewal", "Exporting your workspace"),
        ("Thank you for letting us know, and I'm sorry to hear you're planning to leave.",
         "Exporting is straightforward: a workspace owner can go to Settings > Export to download all dashboards, saved queries and alert definitions as a ZIP of JSON files. Your raw data stays in your own warehouse, so nothing there is affected.",
         "Before you go, I'd like to make one offer: if it would help to bridge the gap, we can extend your subscription for two months at 50% while you evaluate. And either way, I'd really appreciate 15 minutes of honest feedback on what we could have done better."),
    ),
}
_EMAIL_SYS_1 = (
    "You are the customer-success writing assistant at Northwind Analytics. Write warm, concise, professional "
    "emails in plain text. Always include a subject line first as 'Subject: ...'. Sign off as {agent}, "
    "Customer Success, Northwind Analytics."
)
_EMAIL_SYS_3 = (
    "Rewrite the support agent's rough draft into a clear, friendly and professional email to the customer. Keep "
    "every fact and number from the draft, fix grammar, do not add promises that are not in the draft. Output the "
    "email only, starting with 'Subject:'."
)
_TONES = ("friendly", "professional", "warm but brief", "apologetic", "upbeat", "formal")


def build_email_drafting(rng: random.Random, ctx: Ctx) -> Draft:
    pii: list[str] = []
    purpose = rng.choice(tuple(_EMAIL_PURPOSES))
    incoming_opts, points, subjects, paras = _EMAIL_PURPOSES[purpose]
    cf, cl = person(rng)
    agent = " ".join(person(rng))
    cust, domain = customer(rng)
    slots = dict(mins=rng.randint(30, 90), date=_fmt_date(ctx.when + timedelta(days=rng.randint(-6, 40)), 1),
                 credit=rng.choice((5, 10, 10, 15)), n=rng.randint(3, 25), month=rng.choice(("July", "August", "September")),
                 inv=f"INV-2026-{rng.randint(100, 9999):04d}", amount=f"${rng.randint(180, 4800):,}.00", pct=rng.randint(12, 140),
                 customer=cust, team=rng.choice(TEAMS), connector=rng.choice(CONNECTORS), competitor=rng.choice(COMPETITORS))
    subject = rng.choice(subjects).format(**slots)
    body = "\n\n".join(p.format(**slots) for p in paras)
    sign = rng.choice(("Best", "Kind regards", "Thanks", "All the best", "Warm regards"))
    email_out = f"Subject: {subject}\n\nHi {cf},\n\n{body}\n\n{sign},\n{agent}\nCustomer Success, Northwind Analytics"
    variants = ["e2_outreach_brief", "e3_polish_draft"] + (["e1_reply_with_points"] * 2 if incoming_opts else [])
    v = rng.choice(variants)
    if v == "e1_reply_with_points":
        incoming = rng.choice(incoming_opts).format(**slots)
        sig = f"{cf} {cl}\n{rng.choice(JOB_TITLES)}, {cust}"
        if rng.random() < 0.28:
            sig += f"\n{pii_email(rng, cf, cl, domain)}"
            pii.append("EMAIL")
            if rng.random() < 0.5:
                sig += f"\nMobile: {pii_phone(rng)}"
                pii.append("PHONE")
        msgs = [_sys(_EMAIL_SYS_1.format(agent=agent)),
                _user(f"Draft a reply to this customer email.\nKey points to cover: {points.format(**slots)}\n\n"
                      f"Customer email:\nFrom: {cf} {cl} ({cust})\n\n{incoming}\n\n{sig}")]
    elif v == "e2_outreach_brief":
        to = f"{cf} {cl}, {rng.choice(JOB_TITLES)} at {cust}"
        extra = ""
        if rng.random() < 0.15:
            extra = f" Their email is {pii_email(rng, cf, cl, domain)}."
            pii.append("EMAIL")
        msgs = [_user(f"Write an email to {to}. Tone: {rng.choice(_TONES)}. It should cover: {points.format(**slots)}. "
                      f"Sign it from me, {agent} (Customer Success).{extra}")]
    else:
        tokens = points.format(**slots).split("; ")
        rough = f"hi {cf.lower()}, " + ". ".join(tokens) + ". thx " + agent.split()[0].lower()
        if rng.random() < 0.2:
            rough += f" (cust said best to reach them at {pii_phone(rng)})"
            pii.append("PHONE")
        msgs = [_sys(_EMAIL_SYS_3), _user(f"Customer: {cf} {cl} at {cust}\nDraft:\n{rough}")]
    return Draft("email_drafting", "email_drafting." + v, msgs, email_out, pii=pii, temperature=0.7,
                 max_tokens=rng.choice((600, 800, 1024)), feature="reply-assist")


# ================================================================================================ 7. translation
LANG_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "pt": "Portuguese (Brazil)",
              "it": "Italian", "ja": "Japanese"}
_LANGS = ("en", "de", "fr", "es", "pt", "it", "ja")
# product copy / UI strings, one tuple per sentence in the order of _LANGS
_COPY = (
    ("Your dashboard has been shared with {count} people.", "Ihr Dashboard wurde mit {count} Personen geteilt.", "Votre tableau de bord a été partagé avec {count} personnes.", "Tu panel se ha compartido con {count} personas.", "Seu painel foi compartilhado com {count} pessoas.", "La tua dashboard è stata condivisa con {count} persone.", "ダッシュボードが{count}人と共有されました。"),
    ("The scheduled report could not be sent because the data source is unavailable.", "Der geplante Bericht konnte nicht gesendet werden, weil die Datenquelle nicht verfügbar ist.", "Le rapport planifié n'a pas pu être envoyé car la source de données est indisponible.", "No se pudo enviar el informe programado porque la fuente de datos no está disponible.", "Não foi possível enviar o relatório agendado porque a fonte de dados está indisponível.", "Non è stato possibile inviare il report pianificato perché l'origine dati non è disponibile.", "データソースが利用できないため、スケジュールされたレポートを送信できませんでした。"),
    ("Connect your data warehouse in less than five minutes.", "Verbinden Sie Ihr Data Warehouse in weniger als fünf Minuten.", "Connectez votre entrepôt de données en moins de cinq minutes.", "Conecta tu almacén de datos en menos de cinco minutos.", "Conecte seu data warehouse em menos de cinco minutos.", "Collega il tuo data warehouse in meno di cinque minuti.", "5分以内にデータウェアハウスを接続できます。"),
    ("Forecasts now take seasonality and holidays into account.", "Prognosen berücksichtigen jetzt Saisonalität und Feiertage.", "Les prévisions tiennent désormais compte de la saisonnalité et des jours fériés.", "Las previsiones ahora tienen en cuenta la estacionalidad y los días festivos.", "As previsões agora levam em conta a sazonalidade e os feriados.", "Le previsioni ora tengono conto della stagionalità e delle festività.", "予測で季節性と祝日が考慮されるようになりました。"),
    ("You have reached the limit of your current plan.", "Sie haben das Limit Ihres aktuellen Tarifs erreicht.", "Vous avez atteint la limite de votre forfait actuel.", "Has alcanzado el límite de tu plan actual.", "Você atingiu o limite do seu plano atual.", "Hai raggiunto il limite del tuo piano attuale.", "現在のプランの上限に達しました。"),
    ("Invite your team to collaborate on dashboards and alerts.", "Laden Sie Ihr Team ein, gemeinsam an Dashboards und Warnungen zu arbeiten.", "Invitez votre équipe à collaborer sur les tableaux de bord et les alertes.", "Invita a tu equipo a colaborar en paneles y alertas.", "Convide sua equipe para colaborar em painéis e alertas.", "Invita il tuo team a collaborare su dashboard e avvisi.", "チームを招待して、ダッシュボードとアラートで共同作業しましょう。"),
    ("We're sorry for the inconvenience. Our team is already working on a fix.", "Wir entschuldigen uns für die Unannehmlichkeiten. Unser Team arbeitet bereits an einer Lösung.", "Nous sommes désolés pour la gêne occasionnée. Notre équipe travaille déjà à une solution.", "Lamentamos las molestias. Nuestro equipo ya está trabajando en una solución.", "Pedimos desculpas pelo transtorno. Nossa equipe já está trabalhando em uma correção.", "Ci scusiamo per il disagio. Il nostro team sta già lavorando a una soluzione.", "ご不便をおかけして申し訳ありません。現在、チームが修正に取り組んでいます。"),
    ("Your trial ends in {days} days. Upgrade now to keep your dashboards.", "Ihre Testphase endet in {days} Tagen. Führen Sie jetzt ein Upgrade durch, um Ihre Dashboards zu behalten.", "Votre essai se termine dans {days} jours. Passez à un forfait supérieur pour conserver vos tableaux de bord.", "Tu prueba termina en {days} días. Actualiza ahora para conservar tus paneles.", "Seu teste termina em {days} dias. Faça upgrade agora para manter seus painéis.", "La tua prova termina tra {days} giorni. Esegui l'upgrade ora per mantenere le tue dashboard.", "トライアルはあと{days}日で終了します。ダッシュボードを維持するには今すぐアップグレードしてください。"),
    ("Alerts notify you in Slack or by email when a metric changes unexpectedly.", "Warnungen benachrichtigen Sie in Slack oder per E-Mail, wenn sich eine Kennzahl unerwartet ändert.", "Les alertes vous préviennent dans Slack ou par e-mail lorsqu'un indicateur change de manière inattendue.", "Las alertas te avisan en Slack o por correo electrónico cuando una métrica cambia de forma inesperada.", "Os alertas avisam você no Slack ou por e-mail quando uma métrica muda inesperadamente.", "Gli avvisi ti notificano su Slack o via email quando una metrica cambia in modo imprevisto.", "指標が予期せず変化すると、アラートがSlackまたはメールで通知します。"),
    ("To export data, open the chart menu and select Download as CSV.", "Um Daten zu exportieren, öffnen Sie das Diagrammmenü und wählen Sie „Als CSV herunterladen“.", "Pour exporter des données, ouvrez le menu du graphique et sélectionnez Télécharger au format CSV.", "Para exportar datos, abre el menú del gráfico y selecciona Descargar como CSV.", "Para exportar dados, abra o menu do gráfico e selecione Baixar como CSV.", "Per esportare i dati, apri il menu del grafico e seleziona Scarica come CSV.", "データをエクスポートするには、グラフのメニューを開き、「CSVとしてダウンロード」を選択します。"),
    ("Single sign-on is available on the Business and Enterprise plans.", "Single Sign-On ist in den Tarifen Business und Enterprise verfügbar.", "L'authentification unique est disponible avec les forfaits Business et Enterprise.", "El inicio de sesión único está disponible en los planes Business y Enterprise.", "O login único está disponível nos planos Business e Enterprise.", "Il single sign-on è disponibile nei piani Business ed Enterprise.", "シングルサインオンはBusinessプランとEnterpriseプランでご利用いただけます。"),
    ("Thank you for your feedback! It helps us improve Northwind for everyone.", "Vielen Dank für Ihr Feedback! Es hilft uns, Northwind für alle zu verbessern.", "Merci pour vos commentaires ! Ils nous aident à améliorer Northwind pour tout le monde.", "¡Gracias por tus comentarios! Nos ayudan a mejorar Northwind para todos.", "Obrigado pelo seu feedback! Ele nos ajuda a melhorar o Northwind para todos.", "Grazie per il tuo feedback! Ci aiuta a migliorare Northwind per tutti.", "フィードバックをありがとうございます。Northwindをより良くするために役立てます。"),
    ("Your password must be at least 12 characters long.", "Ihr Passwort muss mindestens 12 Zeichen lang sein.", "Votre mot de passe doit comporter au moins 12 caractères.", "Tu contraseña debe tener al menos 12 caracteres.", "Sua senha deve ter pelo menos 12 caracteres.", "La password deve contenere almeno 12 caratteri.", "パスワードは12文字以上である必要があります。"),
    ("Join our webinar on {date} to see what's new in Forecasting 2.0.", "Nehmen Sie am {date} an unserem Webinar teil und erfahren Sie, was es Neues in Forecasting 2.0 gibt.", "Participez à notre webinaire du {date} pour découvrir les nouveautés de Forecasting 2.0.", "Únete a nuestro webinar el {date} para conocer las novedades de Forecasting 2.0.", "Participe do nosso webinar em {date} para ver as novidades do Forecasting 2.0.", "Partecipa al nostro webinar del {date} per scoprire le novità di Forecasting 2.0.", "{date}のウェビナーに参加して、Forecasting 2.0の新機能をご覧ください。"),
    ("The sync failed because the credentials have expired. Please reconnect the source.", "Die Synchronisierung ist fehlgeschlagen, weil die Anmeldedaten abgelaufen sind. Bitte verbinden Sie die Quelle erneut.", "La synchronisation a échoué car les identifiants ont expiré. Veuillez reconnecter la source.", "La sincronización falló porque las credenciales han caducado. Vuelve a conectar la fuente.", "A sincronização falhou porque as credenciais expiraram. Reconecte a fonte.", "La sincronizzazione non è riuscita perché le credenziali sono scadute. Ricollega l'origine.", "認証情報の有効期限が切れたため、同期に失敗しました。ソースを再接続してください。"),
    ("Drag and drop fields to build a chart without writing SQL.", "Ziehen Sie Felder per Drag-and-drop, um ein Diagramm ohne SQL zu erstellen.", "Glissez-déposez des champs pour créer un graphique sans écrire de SQL.", "Arrastra y suelta campos para crear un gráfico sin escribir SQL.", "Arraste e solte campos para criar um gráfico sem escrever SQL.", "Trascina e rilascia i campi per creare un grafico senza scrivere SQL.", "フィールドをドラッグ＆ドロップするだけで、SQLを書かずにグラフを作成できます。"),
    ("Changes to this dashboard will be visible to all viewers.", "Änderungen an diesem Dashboard sind für alle Betrachter sichtbar.", "Les modifications apportées à ce tableau de bord seront visibles par tous les lecteurs.", "Los cambios en este panel serán visibles para todos los lectores.", "As alterações neste painel ficarão visíveis para todos os visualizadores.", "Le modifiche a questa dashboard saranno visibili a tutti i visualizzatori.", "このダッシュボードへの変更は、すべての閲覧者に表示されます。"),
    ("We will process your refund within five business days.", "Wir bearbeiten Ihre Rückerstattung innerhalb von fünf Werktagen.", "Nous traiterons votre remboursement sous cinq jours ouvrés.", "Procesaremos tu reembolso en un plazo de cinco días hábiles.", "Processaremos seu reembolso em até cinco dias úteis.", "Elaboreremo il tuo rimborso entro cinque giorni lavorativi.", "返金は5営業日以内に処理いたします。"),
    ("Data is refreshed every hour. The last update was {minutes} minutes ago.", "Die Daten werden stündlich aktualisiert. Die letzte Aktualisierung war vor {minutes} Minuten.", "Les données sont actualisées toutes les heures. La dernière mise à jour date d'il y a {minutes} minutes.", "Los datos se actualizan cada hora. La última actualización fue hace {minutes} minutos.", "Os dados são atualizados a cada hora. A última atualização foi há {minutes} minutos.", "I dati vengono aggiornati ogni ora. L'ultimo aggiornamento risale a {minutes} minuti fa.", "データは1時間ごとに更新されます。最終更新は{minutes}分前です。"),
    ("Northwind turns your company's data into decisions your whole team can trust.", "Northwind verwandelt die Daten Ihres Unternehmens in Entscheidungen, denen Ihr ganzes Team vertrauen kann.", "Northwind transforme les données de votre entreprise en décisions auxquelles toute votre équipe peut se fier.", "Northwind convierte los datos de tu empresa en decisiones en las que todo tu equipo puede confiar.", "O Northwind transforma os dados da sua empresa em decisões em que toda a sua equipe pode confiar.", "Northwind trasforma i dati della tua azienda in decisioni di cui tutto il team può fidarsi.", "Northwindは、会社のデータをチーム全員が信頼できる意思決定に変えます。"),
    ("This action cannot be undone. Are you sure you want to delete this alert?", "Diese Aktion kann nicht rückgängig gemacht werden. Möchten Sie diese Warnung wirklich löschen?", "Cette action est irréversible. Voulez-vous vraiment supprimer cette alerte ?", "Esta acción no se puede deshacer. ¿Seguro que quieres eliminar esta alerta?", "Esta ação não pode ser desfeita. Tem certeza de que deseja excluir este alerta?", "Questa azione non può essere annullata. Vuoi davvero eliminare questo avviso?", "この操作は元に戻せません。このアラートを削除してもよろしいですか？"),
    ("Our support team is available Monday to Friday, 8am to 8pm CET.", "Unser Support-Team ist von Montag bis Freitag von 8 bis 20 Uhr MEZ erreichbar.", "Notre équipe d'assistance est disponible du lundi au vendredi, de 8 h à 20 h CET.", "Nuestro equipo de soporte está disponible de lunes a viernes, de 8:00 a 20:00 CET.", "Nossa equipe de suporte está disponível de segunda a sexta, das 8h às 20h CET.", "Il nostro team di supporto è disponibile dal lunedì al venerdì, dalle 8 alle 20 CET.", "サポートチームの対応時間は、月曜日から金曜日の午前8時から午後8時（CET）です。"),
    ("Compare this period with the previous year to spot trends.", "Vergleichen Sie diesen Zeitraum mit dem Vorjahr, um Trends zu erkennen.", "Comparez cette période à l'année précédente pour repérer les tendances.", "Compara este período con el año anterior para detectar tendencias.", "Compare este período com o ano anterior para identificar tendências.", "Confronta questo periodo con l'anno precedente per individuare le tendenze.", "この期間を前年と比較して、傾向を把握しましょう。"),
    ("Your export is ready. The download link expires in 24 hours.", "Ihr Export ist bereit. Der Download-Link läuft in 24 Stunden ab.", "Votre export est prêt. Le lien de téléchargement expire dans 24 heures.", "Tu exportación está lista. El enlace de descarga caduca en 24 horas.", "Sua exportação está pronta. O link de download expira em 24 horas.", "La tua esportazione è pronta. Il link per il download scade tra 24 ore.", "エクスポートの準備ができました。ダウンロードリンクの有効期限は24時間です。"),
)
_UI_KEYS = (
    "share.success", "report.error.source_unavailable", "onboarding.connect.title", "release.forecast.seasonality",
    "billing.limit_reached", "onboarding.invite.body", "status.incident.apology", "trial.ending.banner",
    "alerts.empty_state", "export.csv.help", "sso.plan_notice", "feedback.thanks", "auth.password.min_length",
    "marketing.webinar.banner", "sync.error.credentials", "builder.empty_state", "dashboard.edit.warning",
    "billing.refund.notice", "data.freshness", "marketing.tagline", "alerts.delete.confirm", "support.hours",
    "compare.previous_year.hint", "export.ready",
)
# customer messages that reach the support desk in other languages
_CUSTOMER_MSGS = (
    ("Hello, since yesterday I can no longer log in to my account.", "Hallo, seit gestern kann ich mich nicht mehr in mein Konto einloggen.", "Bonjour, depuis hier je n'arrive plus à me connecter à mon compte.", "Hola, desde ayer ya no puedo iniciar sesión en mi cuenta.", "Olá, desde ontem não consigo mais entrar na minha conta.", "Salve, da ieri non riesco più ad accedere al mio account.", "こんにちは。昨日からアカウントにログインできなくなりました。"),
    ("Our invoice shows the wrong number of users.", "Unsere Rechnung weist die falsche Anzahl an Benutzern aus.", "Notre facture indique un nombre d'utilisateurs incorrect.", "Nuestra factura muestra un número incorrecto de usuarios.", "Nossa fatura mostra o número errado de usuários.", "La nostra fattura riporta un numero errato di utenti.", "請求書に記載されているユーザー数が間違っています。"),
    ("The dashboard is very slow when we filter by region.", "Das Dashboard ist sehr langsam, wenn wir nach Region filtern.", "Le tableau de bord est très lent lorsque nous filtrons par région.", "El panel es muy lento cuando filtramos por región.", "O painel fica muito lento quando filtramos por região.", "La dashboard è molto lenta quando filtriamo per regione.", "地域で絞り込むと、ダッシュボードの動作が非常に遅くなります。"),
    ("Can you please tell me how to add a new user?", "Können Sie mir bitte sagen, wie ich einen neuen Benutzer hinzufüge?", "Pouvez-vous m'indiquer comment ajouter un nouvel utilisateur ?", "¿Podrían decirme cómo añadir un nuevo usuario?", "Vocês podem me dizer como adicionar um novo usuário?", "Potete dirmi come aggiungere un nuovo utente?", "新しいユーザーを追加する方法を教えていただけますか？"),
    ("We would like to cancel our subscription at the end of the month.", "Wir möchten unser Abonnement zum Monatsende kündigen.", "Nous souhaitons résilier notre abonnement à la fin du mois.", "Queremos cancelar nuestra suscripción a final de mes.", "Gostaríamos de cancelar nossa assinatura no final do mês.", "Vorremmo disdire il nostro abbonamento alla fine del mese.", "月末でサブスクリプションを解約したいと考えています。"),
    ("The export to Excel does not work. We get an error message.", "Der Export nach Excel funktioniert nicht. Wir erhalten eine Fehlermeldung.", "L'export vers Excel ne fonctionne pas. Nous obtenons un message d'erreur.", "La exportación a Excel no funciona. Recibimos un mensaje de error.", "A exportação para o Excel não funciona. Recebemos uma mensagem de erro.", "L'esportazione in Excel non funziona. Riceviamo un messaggio di errore.", "Excelへのエクスポートができません。エラーメッセージが表示されます。"),
    ("Thank you for your quick help!", "Vielen Dank für Ihre schnelle Hilfe!", "Merci pour votre aide rapide !", "¡Gracias por su rápida ayuda!", "Obrigado pela ajuda rápida!", "Grazie per il vostro aiuto tempestivo!", "迅速にご対応いただきありがとうございます。"),
    ("Is it possible to get the invoice in euros instead of dollars?", "Ist es möglich, die Rechnung in Euro statt in Dollar zu erhalten?", "Est-il possible d'obtenir la facture en euros plutôt qu'en dollars ?", "¿Es posible recibir la factura en euros en lugar de dólares?", "É possível receber a fatura em euros em vez de dólares?", "È possibile ricevere la fattura in euro anziché in dollari?", "請求書をドルではなくユーロで発行していただくことは可能ですか？"),
    ("The numbers in the report do not match our accounting system.", "Die Zahlen im Bericht stimmen nicht mit unserer Buchhaltung überein.", "Les chiffres du rapport ne correspondent pas à notre système comptable.", "Las cifras del informe no coinciden con nuestro sistema contable.", "Os números do relatório não batem com o nosso sistema contábil.", "I numeri del report non corrispondono al nostro sistema contabile.", "レポートの数値が当社の会計システムと一致しません。"),
    ("We need this fixed before our meeting on Friday.", "Wir brauchen eine Lösung vor unserem Meeting am Freitag.", "Nous avons besoin d'une solution avant notre réunion de vendredi.", "Necesitamos que esto se resuelva antes de nuestra reunión del viernes.", "Precisamos que isso seja resolvido antes da nossa reunião de sexta-feira.", "Abbiamo bisogno di una soluzione prima della riunione di venerdì.", "金曜日の会議までに解決していただく必要があります。"),
)
_GREET_BY_LANG = {"de": "Guten Tag,", "fr": "Bonjour,", "es": "Hola,", "pt": "Olá,", "it": "Buongiorno,", "ja": "お世話になっております。"}
_THANKS_BY_LANG = {"de": "Viele Grüße", "fr": "Cordialement", "es": "Saludos", "pt": "Atenciosamente", "it": "Cordiali saluti", "ja": "よろしくお願いいたします。"}
_TR_SYS_1 = (
    "You are a professional translator for Northwind Analytics product and marketing copy. Translate the text from "
    "{src} to {tgt}. Keep placeholders in curly braces (e.g. {{count}}) and product names (Northwind, Forecasting "
    "2.0) unchanged. Use the formal register where the language distinguishes it. Output only the translation."
)
_TR_SYS_3 = (
    "Localize the following UI strings from English into {tgt}. Return a JSON object with exactly the same keys. "
    "Do not translate placeholders in curly braces. Keep strings short enough for buttons and banners."
)
_TR_SYS_4 = (
    "You help Northwind support agents read customer messages. Translate the customer's message into English, "
    "preserving meaning and tone. Output only the translation."
)


def _fill_copy(s: str, slots: dict[str, str]) -> str:
    for k, v in slots.items():
        s = s.replace("{" + k + "}", v)
    return s


def build_translation(rng: random.Random, ctx: Ctx) -> Draft:
    slots = {"date": _fmt_date(ctx.when + timedelta(days=rng.randint(5, 30)), 0)} if rng.random() < 0.5 else {}
    langs = ("de", "fr", "es", "pt", "it", "ja")
    if ctx.service == "support":
        v = rng.choice(("tr4_support_incoming", "tr4_support_incoming", "tr2_user_only"))
    else:
        v = rng.choices(("tr1_system_translator", "tr2_user_only", "tr3_ui_json"), weights=(5, 3, 3))[0]
    if v == "tr4_support_incoming":
        lang = rng.choices(langs, weights=(5, 4, 3, 2, 2, 1))[0]
        li = _LANGS.index(lang)
        sents = rng.sample(_CUSTOMER_MSGS, rng.randint(1, 3))
        src = " ".join(s[li] for s in sents) if lang != "ja" else "".join(s[li] for s in sents)
        tgt = " ".join(s[0] for s in sents)
        if rng.random() < 0.5:
            src = f"{_GREET_BY_LANG[lang]}\n\n{src}\n\n{_THANKS_BY_LANG[lang]}"
            tgt = f"Hello,\n\n{tgt}\n\n{'Best regards' if lang != 'ja' else 'Thank you in advance.'}"
        msgs = [_sys(_TR_SYS_4), _user(src)]
        return Draft("translation", "translation." + v, msgs, tgt, temperature=0.0, max_tokens=500, feature="translate-ticket")
    to_en = v == "tr2_user_only" and rng.random() < 0.3
    lang = rng.choices(langs, weights=(5, 5, 3, 2, 2, 2))[0]
    li = _LANGS.index(lang)
    idx = sorted(rng.sample(range(len(_COPY)), rng.randint(1, 4 if v != "tr3_ui_json" else 6)))
    sep_src = "" if (to_en and lang == "ja") else " "
    sep_tgt = "" if (not to_en and lang == "ja") else " "
    if v == "tr3_ui_json":
        src_obj = {_UI_KEYS[i]: _fill_copy(_COPY[i][0], slots) for i in idx}
        tgt_obj = {_UI_KEYS[i]: _fill_copy(_COPY[i][li], slots) for i in idx}
        msgs = [_sys(_TR_SYS_3.format(tgt=LANG_NAMES[lang])), _user(json.dumps(src_obj, indent=2, ensure_ascii=False))]
        out = json.dumps(tgt_obj, indent=2, ensure_ascii=False)
    else:
        a, b = (li, 0) if to_en else (0, li)
        src = _fill_copy(sep_src.join(_COPY[i][a] for i in idx), slots)
        out = _fill_copy(sep_tgt.join(_COPY[i][b] for i in idx), slots)
        src_l, tgt_l = (lang, "en") if to_en else ("en", lang)
        if v == "tr1_system_translator":
            msgs = [_sys(_TR_SYS_1.format(src=LANG_NAMES[src_l], tgt=LANG_NAMES[tgt_l])), _user(src)]
        else:
            ask = rng.choice(("Translate to {tgt}:\n\n{text}", "Can you translate this into {tgt}? It's for the {where}.\n\n\"{text}\"",
                              "{tgt} please:\n{text}", "Translate the following from {src} to {tgt}, keep the {{placeholders}}:\n{text}"))
            msgs = [_user(ask.format(tgt=LANG_NAMES[tgt_l], src=LANG_NAMES[src_l], text=src,
                                     where=rng.choice(("in-app banner", "newsletter", "help center", "landing page", "release email"))))]
    return Draft("translation", "translation." + v, msgs, out, temperature=0.1, max_tokens=rng.choice((500, 1000)),
                 feature="localization")


# ============================================================================================== 8. release notes
_CHANGES = (
    ("fix(connectors): retry snowflake auth on 401 (#4821)", "fix", "Snowflake connections now re-authenticate automatically when a session expires, so overnight syncs no longer fail."),
    ("feat(alerts): weekday-only schedules NW-2291", "new", "Alerts can now be limited to weekdays or business hours."),
    ("perf(query): cache compiled filters, p95 -38%", "improvement", "Dashboards with many filters load noticeably faster (up to 38% faster for the slowest loads)."),
    ("fix(export): PDF cut off last column", "fix", "PDF exports no longer cut off the last column of wide tables."),
    ("feat(forecast): holiday calendars for US/UK/DE/FR", "new", "Forecasts can now take public holidays in the US, UK, Germany and France into account."),
    ("chore: bump pandas to 2.3", None, ""),
    ("refactor(auth): extract token service", None, ""),
    ("feat(embed): signed URLs with custom expiry", "new", "Embedded dashboards support signed URLs with a custom expiry time."),
    ("fix(hubspot): custom props with dots in name broke sync NW-2310", "fix", "HubSpot syncs no longer fail on custom properties whose names contain dots."),
    ("feat(teams): send scheduled reports to MS Teams (beta)", "new", "Scheduled reports can now be delivered to Microsoft Teams channels (beta)."),
    ("fix(datepicker): reset to last 7d on filter change", "fix", "The date picker keeps your selected range when you change other filters."),
    ("improve(sso): clearer SAML error messages", "improvement", "SAML login errors now explain what went wrong, for example an expired certificate."),
    ("feat(api): /v2/dashboards cursor pagination", "new", "The Public API now supports cursor-based pagination when listing dashboards."),
    ("fix(billing): removed seats still invoiced NW-2335", "fix", "Removed seats are now reflected on your next invoice right away."),
    ("ci: quarantine flaky e2e tests", None, ""),
    ("perf(sync): parallel table fetch for postgres", "improvement", "Postgres syncs now fetch tables in parallel and finish up to 3x faster."),
    ("feat(dashboards): lock filters for viewers", "new", "Editors can lock dashboard filters so viewers can't change them."),
    ("fix(alerts): duplicate notifications within 2 min", "fix", "Alerts no longer send duplicate notifications for the same event."),
    ("feat(ui): dark mode for viewer (beta)", "new", "Dark mode is now available in the dashboard viewer (beta)."),
    ("improve(csv): async export up to 1M rows", "improvement", "Large CSV exports (up to 1 million rows) are prepared in the background and emailed to you when ready."),
    ("fix(bigquery): wrong timezone on DATETIME cols", "fix", "BigQuery DATETIME columns are now shown in the correct time zone."),
    ("docs: update connector setup guides", None, ""),
    ("feat(notebook): python cells can read dashboard filters", "new", "Notebook Python cells can now read the current dashboard filters."),
    ("fix(i18n): missing german strings in onboarding", "fix", "Fixed missing German translations in the onboarding flow."),
    ("security: enforce TLS 1.2+ on all endpoints", "improvement", "All connections to Northwind now require TLS 1.2 or later."),
    ("fix(forecast): NaN when series has gaps NW-2368", "fix", "Forecasts no longer show empty values when the underlying data has gaps."),
    ("feat(connectors): Databricks Unity Catalog support", "new", "The Databricks connector now supports Unity Catalog."),
    ("chore(deps): upgrade react to 19", None, ""),
)
_RN_SYS_1 = (
    "You turn raw engineering changelog entries into customer-facing release notes for Northwind Analytics. Group "
    "them under 'New', 'Improvements' and 'Fixes'. Leave out internal changes (chores, refactors, CI, docs). Be "
    "friendly and concise, one sentence per item, no ticket numbers or code names."
)
_RN_SYS_3 = (
    "Write a short internal Slack announcement of a release for our customer-facing teams (support, CS, sales). "
    "Start with a one-line headline, then the items customers will care about most, then 'Heads-up' for anything "
    "support should know. Use Slack formatting."
)


def build_release_notes(rng: random.Random, ctx: Ctx) -> Draft:
    items = rng.sample(_CHANGES, rng.randint(4, 10))
    version = f"2026.{ctx.when.month}.{rng.randint(1, 4)}"
    raw = "\n".join(f"- {r}" for r, _, _ in items)
    groups = {"new": [], "improvement": [], "fix": []}
    for _, cat, text in items:
        if cat:
            groups[cat].append(text)
    v = rng.choices(("rn1_system_grouped", "rn2_newsletter_no_system", "rn3_slack_internal"), weights=(5, 3, 2))[0]
    if v == "rn3_slack_internal":
        msgs = [_sys(_RN_SYS_3), _user(f"Release {version} went out today. Merged PRs:\n{raw}")]
        top = groups["new"] + groups["improvement"]
        out = f":rocket: *Release {version} is live!*\n\n" + "\n".join(f"• {t}" for t in (top or groups["fix"])[:5])
        if groups["fix"]:
            out += "\n\n*Heads-up for support:* these customer-reported issues are fixed, feel free to close the related tickets:\n"
            out += "\n".join(f"• {t}" for t in groups["fix"])
        return Draft("release_notes", "release_notes." + v, msgs, out, temperature=0.5, max_tokens=700, feature="release-notes")
    def section(title: str, key: str) -> str:
        return f"**{title}**\n" + "\n".join(f"- {t}" for t in groups[key]) if groups[key] else ""
    body = "\n\n".join(s for s in (section("New", "new"), section("Improvements", "improvement"), section("Fixes", "fix")) if s)
    if v == "rn1_system_grouped":
        msgs = [_sys(_RN_SYS_1), _user(f"Release {version} ({_fmt_date(ctx.when, 0)}) changelog:\n{raw}")]
        out = f"## Release {version}\n\n{body}"
    else:
        msgs = [_user("Rewrite these commit messages as release notes for our customer newsletter. Skip anything "
                      f"internal.\n\n{raw}")]
        out = (f"## What's new in Northwind ({_fmt_date(ctx.when, 1)})\n\n"
               f"{rng.choice(('Here is what we shipped this week:', 'A few updates from the team:', 'This release brings some long-requested features and fixes.'))}\n\n{body}")
    return Draft("release_notes", "release_notes." + v, msgs, out, temperature=0.5, max_tokens=1000, feature="release-notes")


# ============================================================================================= 9. SQL generation
_SCHEMAS = {
    "saas": ("snowflake", (
        ("accounts", (("account_id", "VARCHAR"), ("name", "VARCHAR"), ("plan", "VARCHAR"), ("region", "VARCHAR"), ("industry", "VARCHAR"), ("created_at", "TIMESTAMP_NTZ"), ("csm_id", "VARCHAR"))),
        ("subscriptions", (("subscription_id", "VARCHAR"), ("account_id", "VARCHAR"), ("plan", "VARCHAR"), ("mrr_usd", "NUMBER(12,2)"), ("seats", "INTEGER"), ("status", "VARCHAR"), ("started_at", "TIMESTAMP_NTZ"), ("ended_at", "TIMESTAMP_NTZ"))),
        ("invoices", (("invoice_id", "VARCHAR"), ("account_id", "VARCHAR"), ("amount_usd", "NUMBER(12,2)"), ("issued_at", "TIMESTAMP_NTZ"), ("paid_at", "TIMESTAMP_NTZ"), ("status", "VARCHAR"))),
        ("events", (("event_id", "VARCHAR"), ("account_id", "VARCHAR"), ("user_id", "VARCHAR"), ("event_name", "VARCHAR"), ("occurred_at", "TIMESTAMP_NTZ"))),
    )),
    "ecommerce": ("bigquery", (
        ("orders", (("order_id", "STRING"), ("customer_id", "STRING"), ("store_id", "STRING"), ("order_ts", "TIMESTAMP"), ("status", "STRING"), ("total_amount", "NUMERIC"), ("currency", "STRING"))),
        ("order_items", (("order_id", "STRING"), ("product_id", "STRING"), ("quantity", "INT64"), ("unit_price", "NUMERIC"), ("discount", "NUMERIC"))),
        ("products", (("product_id", "STRING"), ("name", "STRING"), ("category", "STRING"), ("brand", "STRING"), ("list_price", "NUMERIC"))),
        ("customers", (("customer_id", "STRING"), ("country", "STRING"), ("signup_date", "DATE"), ("segment", "STRING"))),
        ("stores", (("store_id", "STRING"), ("name", "STRING"), ("city", "STRING"), ("country", "STRING"), ("opened_on", "DATE"))),
    )),
    "support": ("postgres", (
        ("tickets", (("ticket_id", "bigint"), ("account_id", "text"), ("category", "text"), ("priority", "text"), ("status", "text"), ("created_at", "timestamptz"), ("first_response_at", "timestamptz"), ("resolved_at", "timestamptz"), ("agent_id", "int"), ("csat_score", "smallint"))),
        ("agents", (("agent_id", "int"), ("name", "text"), ("team", "text"), ("hired_on", "date"))),
    )),
    "marketing": ("bigquery", (
        ("sessions", (("session_id", "STRING"), ("user_pseudo_id", "STRING"), ("started_at", "TIMESTAMP"), ("channel", "STRING"), ("campaign_id", "STRING"), ("country", "STRING"), ("device", "STRING"))),
        ("conversions", (("conversion_id", "STRING"), ("session_id", "STRING"), ("user_pseudo_id", "STRING"), ("converted_at", "TIMESTAMP"), ("type", "STRING"), ("value_usd", "NUMERIC"))),
        ("campaigns", (("campaign_id", "STRING"), ("name", "STRING"), ("channel", "STRING"), ("budget_usd", "NUMERIC"), ("start_date", "DATE"), ("end_date", "DATE"))),
    )),
}
_DIALECT_NAMES = {"snowflake": "Snowflake", "bigquery": "BigQuery", "postgres": "PostgreSQL"}


def _ddl(schema: str, compact: bool) -> str:
    dialect, tables = _SCHEMAS[schema]
    prefix = {"saas": "analytics.", "ecommerce": "shop.", "support": "", "marketing": "mkt."}[schema]
    if compact:
        return "\n".join(f"{prefix}{t}({', '.join(c for c, _ in cols)})" for t, cols in tables)
    return "\n\n".join(f"CREATE TABLE {prefix}{t} (\n" + ",\n".join(f"  {c} {ty}" for c, ty in cols) + "\n);" for t, cols in tables)


def _ago(d: str, n: int, unit: str) -> str:
    if d == "snowflake":
        return f"DATEADD({unit}, -{n}, CURRENT_DATE())"
    if d == "bigquery":
        return f"DATE_SUB(CURRENT_DATE(), INTERVAL {n} {unit.upper()})"
    return f"CURRENT_DATE - INTERVAL '{n} {unit}s'"


def _trunc(d: str, col: str, unit: str) -> str:
    if d == "bigquery":
        return f"DATE_TRUNC(DATE({col}), {unit.upper()})"
    return f"DATE_TRUNC('{unit}', {col})"


def _sql_saas(rng: random.Random) -> tuple[str, str]:
    d = "snowflake"
    n = rng.choice((3, 6, 12))
    k = rng.choice((5, 10, 20))
    days = rng.choice((7, 14, 30, 60, 90))
    region = rng.choice(("EMEA", "NA", "APAC", "LATAM"))
    plan = rng.choice(PLANS)
    q = rng.randrange(7)
    if q == 0:
        return (rng.choice(("What is our current MRR by plan?", "Show me active MRR broken down by plan, biggest first.", "mrr by plan right now?")),
                "SELECT plan,\n       SUM(mrr_usd) AS mrr_usd,\n       COUNT(*) AS active_subscriptions\nFROM analytics.subscriptions\nWHERE status = 'active'\nGROUP BY plan\nORDER BY mrr_usd DESC;")
    if q == 1:
        return (rng.choice((f"How many new accounts signed up each month over the last {n} months, split by region?", f"New signups per month by region, last {n} months")),
                f"SELECT {_trunc(d, 'created_at', 'month')} AS signup_month,\n       region,\n       COUNT(*) AS new_accounts\nFROM analytics.accounts\nWHERE created_at >= {_ago(d, n, 'month')}\nGROUP BY 1, 2\nORDER BY 1, 2;")
    if q == 2:
        return (rng.choice((f"Which {k} accounts had the most active users in the last {days} days?", f"top {k} accounts by distinct active users, past {days} days")),
                f"SELECT a.account_id,\n       a.name,\n       COUNT(DISTINCT e.user_id) AS active_users\nFROM analytics.events e\nJOIN analytics.accounts a ON a.account_id = e.account_id\nWHERE e.occurred_at >= {_ago(d, days, 'day')}\nGROUP BY a.account_id, a.name\nORDER BY active_users DESC\nLIMIT {k};")
    if q == 3:
        return (rng.choice(("How many subscriptions were cancelled each month this year, and how much MRR did we lose?", "Monthly churned subscriptions and lost MRR for 2026")),
                f"SELECT {_trunc(d, 'ended_at', 'month')} AS churn_month,\n       COUNT(*) AS cancelled_subscriptions,\n       SUM(mrr_usd) AS lost_mrr_usd\nFROM analytics.subscriptions\nWHERE status = 'cancelled'\n  AND ended_at >= '2026-01-01'\nGROUP BY 1\nORDER BY 1;")
    if q == 4:
        return (rng.choice((f"List accounts with unpaid invoices older than {days} days and the total amount overdue.", f"Which customers owe us money for more than {days} days? Include total overdue.")),
                f"SELECT a.account_id,\n       a.name,\n       COUNT(*) AS overdue_invoices,\n       SUM(i.amount_usd) AS overdue_usd\nFROM analytics.invoices i\nJOIN analytics.accounts a ON a.account_id = i.account_id\nWHERE i.paid_at IS NULL\n  AND i.issued_at < {_ago(d, days, 'day')}\nGROUP BY a.account_id, a.name\nORDER BY overdue_usd DESC;")
    if q == 5:
        return (rng.choice((f"What's the average number of seats per active subscription for each plan in {region}?", f"avg seats per active sub by plan, {region} only")),
                f"SELECT s.plan,\n       AVG(s.seats) AS avg_seats\nFROM analytics.subscriptions s\nJOIN analytics.accounts a ON a.account_id = s.account_id\nWHERE s.status = 'active'\n  AND a.region = '{region}'\nGROUP BY s.plan\nORDER BY avg_seats DESC;")
    return (rng.choice((f"Which {plan} accounts still have an active subscription but no events in the last {days} days?", f"Find dormant {plan} customers: active subscription, zero activity in {days} days")),
            f"SELECT a.account_id,\n       a.name,\n       MAX(e.occurred_at) AS last_event_at\nFROM analytics.accounts a\nJOIN analytics.subscriptions s ON s.account_id = a.account_id AND s.status = 'active'\nLEFT JOIN analytics.events e ON e.account_id = a.account_id\nWHERE a.plan = '{plan}'\nGROUP BY a.account_id, a.name\nHAVING MAX(e.occurred_at) IS NULL\n    OR MAX(e.occurred_at) < {_ago(d, days, 'day')}\nORDER BY last_event_at NULLS FIRST;")


def _sql_ecommerce(rng: random.Random) -> tuple[str, str]:
    d = "bigquery"
    k = rng.choice((5, 10, 25))
    days = rng.choice((7, 30, 90))
    n = rng.choice((8, 12, 26))
    q = rng.randrange(6)
    if q == 0:
        return (rng.choice((f"Top {k} products by revenue in the last {days} days", f"Which {k} products brought in the most revenue over the past {days} days?")),
                f"SELECT p.product_id,\n       p.name,\n       SUM(oi.quantity * oi.unit_price - oi.discount) AS revenue\nFROM `shop.order_items` oi\nJOIN `shop.orders` o USING (order_id)\nJOIN `shop.products` p USING (product_id)\nWHERE o.status = 'completed'\n  AND DATE(o.order_ts) >= {_ago(d, days, 'day')}\nGROUP BY p.product_id, p.name\nORDER BY revenue DESC\nLIMIT {k};")
    if q == 1:
        return (rng.choice(("Monthly revenue per store country for 2026", "Revenue by month and country of the store, this year")),
                f"SELECT {_trunc(d, 'o.order_ts', 'month')} AS month,\n       s.country,\n       SUM(o.total_amount) AS revenue\nFROM `shop.orders` o\nJOIN `shop.stores` s USING (store_id)\nWHERE o.status = 'completed'\n  AND EXTRACT(YEAR FROM o.order_ts) = 2026\nGROUP BY month, s.country\nORDER BY month, revenue DESC;")
    if q == 2:
        return (rng.choice(("What was the average order value by customer segment last quarter?", "AOV per segment for the previous quarter")),
                "SELECT c.segment,\n       AVG(o.total_amount) AS avg_order_value,\n       COUNT(*) AS orders\nFROM `shop.orders` o\nJOIN `shop.customers` c USING (customer_id)\nWHERE o.status = 'completed'\n  AND DATE(o.order_ts) >= DATE_TRUNC(DATE_SUB(CURRENT_DATE(), INTERVAL 1 QUARTER), QUARTER)\n  AND DATE(o.order_ts) < DATE_TRUNC(CURRENT_DATE(), QUARTER)\nGROUP BY c.segment\nORDER BY avg_order_value DESC;")
    if q == 3:
        return (rng.choice((f"How many orders were cancelled per week over the last {n} weeks?", f"weekly cancelled orders, last {n} weeks")),
                f"SELECT {_trunc(d, 'order_ts', 'week')} AS week,\n       COUNT(*) AS cancelled_orders\nFROM `shop.orders`\nWHERE status = 'cancelled'\n  AND DATE(order_ts) >= {_ago(d, n, 'week')}\nGROUP BY week\nORDER BY week;")
    if q == 4:
        return (rng.choice(("Which product category has the highest average discount per item?", "avg discount by category, highest first")),
                "SELECT p.category,\n       AVG(oi.discount / NULLIF(oi.quantity, 0)) AS avg_discount_per_item\nFROM `shop.order_items` oi\nJOIN `shop.products` p USING (product_id)\nGROUP BY p.category\nORDER BY avg_discount_per_item DESC;")
    return (rng.choice((f"What share of customers placed more than one order in the last {days} days?", f"Repeat purchase rate over the past {days} days")),
            f"WITH per_customer AS (\n  SELECT customer_id, COUNT(*) AS orders\n  FROM `shop.orders`\n  WHERE status = 'completed'\n    AND DATE(order_ts) >= {_ago(d, days, 'day')}\n  GROUP BY customer_id\n)\nSELECT COUNTIF(orders > 1) / COUNT(*) AS repeat_purchase_rate\nFROM per_customer;")


def _sql_support(rng: random.Random) -> tuple[str, str]:
    d = "postgres"
    days = rng.choice((14, 30, 90))
    n = rng.choice((4, 8, 12))
    q = rng.randrange(5)
    if q == 0:
        return (rng.choice((f"Median first response time in hours by priority for tickets created in the last {days} days", f"What's our median time to first response per priority over the past {days} days?")),
                f"SELECT priority,\n       percentile_cont(0.5) WITHIN GROUP (\n         ORDER BY EXTRACT(EPOCH FROM (first_response_at - created_at)) / 3600\n       ) AS median_first_response_hours\nFROM tickets\nWHERE created_at >= {_ago(d, days, 'day')}\n  AND first_response_at IS NOT NULL\nGROUP BY priority\nORDER BY median_first_response_hours;")
    if q == 1:
        return (rng.choice(("Average CSAT by agent team this month", "How is CSAT looking per support team so far this month?")),
                "SELECT a.team,\n       ROUND(AVG(t.csat_score), 2) AS avg_csat,\n       COUNT(t.csat_score) AS rated_tickets\nFROM tickets t\nJOIN agents a ON a.agent_id = t.agent_id\nWHERE t.created_at >= date_trunc('month', CURRENT_DATE)\nGROUP BY a.team\nORDER BY avg_csat DESC;")
    if q == 2:
        return (rng.choice((f"How many tickets per category were opened each week for the last {n} weeks?", f"weekly ticket volume by category, last {n} weeks")),
                f"SELECT date_trunc('week', created_at) AS week,\n       category,\n       COUNT(*) AS tickets\nFROM tickets\nWHERE created_at >= {_ago(d, n, 'week')}\nGROUP BY 1, 2\nORDER BY 1, 3 DESC;")
    if q == 3:
        return (rng.choice(("Which agents resolved the most tickets last month?", "Leaderboard of agents by tickets resolved in the previous month")),
                "SELECT a.name,\n       a.team,\n       COUNT(*) AS resolved_tickets\nFROM tickets t\nJOIN agents a ON a.agent_id = t.agent_id\nWHERE t.resolved_at >= date_trunc('month', CURRENT_DATE) - INTERVAL '1 month'\n  AND t.resolved_at < date_trunc('month', CURRENT_DATE)\nGROUP BY a.name, a.team\nORDER BY resolved_tickets DESC;")
    return (rng.choice(("What percentage of urgent tickets were resolved within 24 hours, by month?", "Share of urgent tickets resolved in under a day, per month")),
            "SELECT date_trunc('month', created_at) AS month,\n       ROUND(100.0 * AVG(CASE WHEN resolved_at - created_at <= INTERVAL '24 hours' THEN 1 ELSE 0 END), 1) AS pct_resolved_24h\nFROM tickets\nWHERE priority = 'urgent'\nGROUP BY 1\nORDER BY 1;")


def _sql_marketing(rng: random.Random) -> tuple[str, str]:
    d = "bigquery"
    days = rng.choice((7, 28, 30, 90))
    month = rng.choice(("August", "September", "October"))
    mnum = {"August": 8, "September": 9, "October": 10}[month]
    q = rng.randrange(4)
    if q == 0:
        return (rng.choice((f"Conversion rate by channel in the last {days} days", f"What's the session-to-signup conversion rate per channel over the past {days} days?")),
                f"SELECT s.channel,\n       COUNT(DISTINCT s.session_id) AS sessions,\n       COUNT(DISTINCT c.session_id) AS converting_sessions,\n       SAFE_DIVIDE(COUNT(DISTINCT c.session_id), COUNT(DISTINCT s.session_id)) AS conversion_rate\nFROM `mkt.sessions` s\nLEFT JOIN `mkt.conversions` c\n  ON c.session_id = s.session_id AND c.type = 'signup'\nWHERE DATE(s.started_at) >= {_ago(d, days, 'day')}\nGROUP BY s.channel\nORDER BY conversion_rate DESC;")
    if q == 1:
        return (rng.choice(("Cost per signup by campaign for campaigns that ended this quarter", "CPA (budget / signups) for each campaign that finished this quarter")),
                "SELECT ca.name,\n       ca.budget_usd,\n       COUNT(cv.conversion_id) AS signups,\n       SAFE_DIVIDE(ca.budget_usd, COUNT(cv.conversion_id)) AS cost_per_signup\nFROM `mkt.campaigns` ca\nLEFT JOIN `mkt.sessions` s ON s.campaign_id = ca.campaign_id\nLEFT JOIN `mkt.conversions` cv ON cv.session_id = s.session_id AND cv.type = 'signup'\nWHERE ca.end_date >= DATE_TRUNC(CURRENT_DATE(), QUARTER)\n  AND ca.end_date <= CURRENT_DATE()\nGROUP BY ca.name, ca.budget_usd\nORDER BY cost_per_signup;")
    if q == 2:
        return (rng.choice(("Sessions by device and country last week, top 10 combinations", "top 10 device/country combos by sessions last week")),
                "SELECT device,\n       country,\n       COUNT(*) AS sessions\nFROM `mkt.sessions`\nWHERE DATE(started_at) >= DATE_TRUNC(DATE_SUB(CURRENT_DATE(), INTERVAL 1 WEEK), WEEK)\n  AND DATE(started_at) < DATE_TRUNC(CURRENT_DATE(), WEEK)\nGROUP BY device, country\nORDER BY sessions DESC\nLIMIT 10;")
    return (rng.choice((f"How much purchase revenue is attributed to each campaign in {month}?", f"Purchase value by campaign for {month} 2026")),
            f"SELECT ca.name AS campaign,\n       SUM(cv.value_usd) AS purchase_revenue_usd\nFROM `mkt.conversions` cv\nJOIN `mkt.sessions` s ON s.session_id = cv.session_id\nJOIN `mkt.campaigns` ca ON ca.campaign_id = s.campaign_id\nWHERE cv.type = 'purchase'\n  AND DATE(cv.converted_at) BETWEEN '2026-{mnum:02d}-01' AND LAST_DAY(DATE '2026-{mnum:02d}-01')\nGROUP BY campaign\nORDER BY purchase_revenue_usd DESC;")


_SQL_BUILDERS = {"saas": _sql_saas, "ecommerce": _sql_ecommerce, "support": _sql_support, "marketing": _sql_marketing}
_SQL_SYS_1 = (
    "You are Northwind Insights Copilot. Write a single {dialect} SQL query that answers the user's question using "
    "only the tables provided. Return the query in a ```sql block, followed by one sentence explaining what it does."
)
_SQL_SYS_2 = (
    "You are an expert {dialect} analyst. The warehouse has these tables:\n{ddl}\n\nAnswer every question with one "
    "SQL query and nothing else. Use explicit column names and readable aliases."
)
_SQL_SYS_3 = (
    "You are DataBot, Northwind's data assistant in Slack. You can query the warehouse with the run_sql tool; "
    "always run a query rather than guessing numbers. Available tables ({dialect}):\n{ddl}"
)
RUN_SQL_TOOL = {
    "type": "function",
    "function": {
        "name": "run_sql",
        "description": "Run a read-only SQL query against the analytics warehouse and return up to 200 rows.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "A single SELECT statement."},
                "warehouse": {"type": "string", "enum": ["snowflake_prod", "bigquery_shop", "bigquery_marketing", "postgres_support"]},
            },
            "required": ["query", "warehouse"],
        },
    },
}
_WAREHOUSE = {"saas": "snowflake_prod", "ecommerce": "bigquery_shop", "marketing": "bigquery_marketing", "support": "postgres_support"}
_SQL_EXPLAIN = (
    "This aggregates the relevant rows and orders the result so the most important groups come first.",
    "The query filters to the requested time window and groups by the dimensions you asked for.",
    "It joins the fact table to the lookup table for readable names and aggregates per group.",
    "Rows outside the period are excluded before aggregating, so the numbers match the dashboard definitions.",
)


def build_sql_generation(rng: random.Random, ctx: Ctx) -> Draft:
    schema = rng.choices(("saas", "ecommerce", "support", "marketing"), weights=(4, 3, 2, 2))[0]
    dialect = _SCHEMAS[schema][0]
    question, sql = _SQL_BUILDERS[schema](rng)
    question = rng.choice(("", "", "", "hey, ", "Can you write a query: ", "I need this for a deck: ")) + question
    question += rng.choice(("", "", "", " Thanks!", f" (for the {rng.choice(TEAMS)} weekly review)", " Keep it readable.",
                            " Results should be sorted sensibly.", " It's for a dashboard tile."))
    dn = _DIALECT_NAMES[dialect]
    if ctx.service == "batch":  # the Slack bot logs through the plain OpenAI logger
        msgs = [_sys(_SQL_SYS_3.format(dialect=dn, ddl=_ddl(schema, True))), _user(question)]
        call = {"id": "call_" + "".join(rng.choice(ALNUM) for _ in range(24)), "type": "function",
                "function": {"name": "run_sql", "arguments": json.dumps({"query": sql, "warehouse": _WAREHOUSE[schema]})}}
        return Draft("sql_generation", "sql_generation.q3_slack_tool_call", msgs, None, tool_calls=[call],
                     tools=[RUN_SQL_TOOL], temperature=0.0, max_tokens=800, feature="databot")
    v = rng.choices(("q1_schema_in_user", "q2_schema_in_system"), weights=(3, 2))[0]
    if v == "q1_schema_in_user":
        msgs = [_sys(_SQL_SYS_1.format(dialect=dn)), _user(f"Schema:\n{_ddl(schema, False)}\n\nQuestion: {question}")]
        out = f"```sql\n{sql}\n```\n\n{rng.choice(_SQL_EXPLAIN)}"
        return Draft("sql_generation", "sql_generation." + v, msgs, out, temperature=0.0, max_tokens=1024,
                     feature="sql-copilot", prompt_name="copilot-sql-writer", prompt_version=4 if ctx.when.day < 15 else 5)
    msgs = [_sys(_SQL_SYS_2.format(dialect=dn, ddl=_ddl(schema, rng.random() < 0.5))), _user(question)]
    return Draft("sql_generation", "sql_generation." + v, msgs, sql, temperature=0.0, max_tokens=800, feature="sql-copilot")


# ================================================================================================ 10. code review
# A diff template: (title, path, start line, context lines, added lines, issues). Issues are
# (index into added lines, severity, comment). @X@ tokens are filled per call; "@KEY@" marks where a hard-coded
# secret goes in the variant that leaks one.
_DIFFS = (
    ("Add {entity} search endpoint", "services/@SVC@/api/@ENTITY@s.py", 41,
     ("def get_db():", "    return psycopg.connect(DSN)", ""),
     ('@router.get("/@ENTITY@s/search")', "def search_@ENTITY@s(q: str, limit: int = 50):", "    conn = get_db()", "    cur = conn.cursor()",
      "    cur.execute(f\"SELECT id, name FROM @ENTITY@s WHERE name ILIKE '%{q}%' LIMIT {limit}\")", "    rows = cur.fetchall()",
      '    return [{"id": r[0], "name": r[1]} for r in rows]'),
     ((4, "critical", "SQL injection: `q` and `limit` are interpolated into the query with an f-string. Use a parameterized query, e.g. `cur.execute(\"... WHERE name ILIKE %s LIMIT %s\", (f\"%{q}%\", limit))`."),
      (2, "major", "The connection is never closed; under load this leaks connections. Use `with get_db() as conn, conn.cursor() as cur:` or the shared pool."),
      (1, "minor", "`limit` is unbounded; cap it (e.g. `Query(50, le=200)`) so a client can't request millions of rows."))),
    ("Retry helper for @VENDOR@ API calls", "lib/@SVC@/http_utils.py", 12,
     ("import time", "import requests", ""),
     ("def fetch_with_retry(url, headers={}, retries=3):", "    for i in range(retries):", "        try:",
      "            resp = requests.get(url, headers=headers)", "            return resp.json()", "        except:",
      "            time.sleep(2 ** i)", "    return None"),
     ((0, "major", "Mutable default argument `headers={}` is shared between calls; use `headers=None` and create a dict inside."),
      (3, "major", "No timeout on `requests.get`; a hung connection blocks the worker forever. Pass `timeout=(3.05, 30)`."),
      (4, "major", "HTTP errors are not checked: a 500 with an HTML body will raise in `.json()` and be swallowed. Call `resp.raise_for_status()` first."),
      (5, "major", "Bare `except:` also catches `KeyboardInterrupt`/`SystemExit`; catch `requests.RequestException` instead."),
      (7, "minor", "Returning `None` after the last attempt hides the failure from callers; re-raise the last exception."))),
    ("Summarise weekly digest with an LLM", "jobs/weekly_digest/summarize.py", 3,
     ("import os", "from openai import OpenAI", ""),
     ("OPENAI_API_KEY = @KEY@", "client = OpenAI(api_key=OPENAI_API_KEY)", "", "def summarize(events):",
      '    prompt = "Summarize these account events for the CSM:\\n" + "\\n".join(e["text"] for e in events)',
      '    resp = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])',
      "    return resp.choices[0].message.content"),
     ((0, "@KEYSEV@", "@KEYMSG@"),
      (4, "major", "`events` can contain thousands of entries; the prompt will exceed the context window. Truncate or pre-aggregate, and count tokens before sending."),
      (5, "minor", "No `timeout`/`max_tokens` and no retry on rate limits; wrap the call or configure the client's `max_retries`."),
      (6, "minor", "`message.content` can be `None` (e.g. refusals); handle that case before writing the digest."))),
    ("@COMP@: load account @RES@", "web/src/components/@COMP@.tsx", 8,
     ("import { useEffect, useState } from 'react';", "import { Chart } from '../charts/Chart';", ""),
     ("export function @COMP@({ accountId }: Props) {", "  const [data, setData] = useState<any>(null);", "  useEffect(() => {",
      "    fetch(`/api/accounts/${accountId}/@RES@`).then(r => r.json()).then(setData);", "  }, []);",
      "  return <Chart series={data.series} />;", "}"),
     ((4, "major", "`accountId` is missing from the dependency array, so the chart keeps showing the first account after navigation."),
      (5, "major", "`data` is `null` on the first render, so `data.series` throws. Render a loading state until the data arrives."),
      (3, "minor", "No error handling and no `AbortController`: a slow response for a previous account can overwrite the current one."),
      (1, "nit", "Avoid `any`; type the response (`useState<@RESTYPE@ | null>`)."))),
    ("Backfill @RES@ from @VENDOR@", "workers/src/sync/@RES@.ts", 22,
     ("const PAGE_SIZE = 100;", ""),
     ("export async function syncAll(client: ApiClient, since: Date) {", "  let page = 1;", "  const total = await client.count(since);",
      "  while (page * PAGE_SIZE < total) {", "    const items = await client.list({ since, page, pageSize: PAGE_SIZE });",
      "    items.forEach(async (item) => { await upsert(item); });", "    page++;", "  }", "}"),
     ((3, "major", "Off-by-one: with 1-based pages the last page is skipped (e.g. total=150 fetches only page 1). Use `(page - 1) * PAGE_SIZE < total` or loop until an empty page."),
      (5, "major", "`forEach(async ...)` does not await the upserts; errors become unhandled rejections and the function returns before the writes finish. Use `for...of` with `await` or `Promise.all`."),
      (2, "minor", "Counting first and paging by offset is racy if records change during the sync; prefer cursor pagination if the API supports it."))),
    ("Parallel refresh of @RES@", "internal/sync/refresh.go", 57,
     ("// RefreshAll refreshes every source in ids.",),
     ("func (s *Syncer) RefreshAll(ctx context.Context, ids []string) error {", "\tvar wg sync.WaitGroup", "\tfor _, id := range ids {",
      "\t\tgo func() {", "\t\t\twg.Add(1)", "\t\t\tdefer wg.Done()", "\t\t\ts.refresh(ctx, id)", "\t\t}()", "\t}", "\twg.Wait()", "\treturn nil", "}"),
     ((4, "critical", "`wg.Add(1)` inside the goroutine races with `wg.Wait()`; `Wait` can return before any goroutine has started. Call `wg.Add(1)` before `go func()`."),
      (6, "major", "The error from `s.refresh` is dropped and the function always returns nil. Use `errgroup.Group` to collect the first error and cancel the rest."),
      (2, "minor", "Unbounded concurrency: with a few thousand ids this opens thousands of connections. Limit with `errgroup.SetLimit`."),
      (6, "nit", "If the module targets Go < 1.22, `id` is captured by reference and every goroutine sees the last value; pass it as an argument."))),
    ("Add @COL@ to @TABLE@", "db/migrations/2026@MIG@_add_@COL@_to_@TABLE@.sql", 1,
     (),
     ("ALTER TABLE @TABLE@ ADD COLUMN @COL@ TIMESTAMPTZ NOT NULL;", "CREATE INDEX idx_@TABLE@_@COL@ ON @TABLE@ (@COL@);",
      "UPDATE @TABLE@ SET @COL@ = created_at;"),
     ((0, "critical", "Adding a NOT NULL column without a default fails on a non-empty table. Add it nullable, backfill, then `SET NOT NULL`."),
      (1, "major", "`CREATE INDEX` takes a lock that blocks writes on a large table; use `CREATE INDEX CONCURRENTLY` in a separate, non-transactional migration."),
      (2, "major", "A single UPDATE over the whole table rewrites every row in one transaction; backfill in batches of ~10k rows."))),
    ("Add conversion rate to @RES@ report", "analytics/reports/@RES@.py", 88,
     ("import pandas as pd", ""),
     ("def add_conversion_rate(df):", "    for i, row in df.iterrows():", '        df.loc[i, "conv_rate"] = row["conversions"] / row["sessions"]',
      '    df[df.conv_rate > 0.5]["flag"] = True', "    return df"),
     ((1, "minor", "Row-wise `iterrows` is very slow on large frames; vectorize: `df[\"conv_rate\"] = df[\"conversions\"] / df[\"sessions\"].replace(0, pd.NA)`."),
      (2, "major", "Division by zero when `sessions` is 0 produces inf; guard it."),
      (3, "major", "Chained assignment: `df[mask][\"flag\"] = True` writes to a copy and has no effect. Use `df.loc[df.conv_rate > 0.5, \"flag\"] = True`."),
      (4, "nit", "The function mutates its input; either document it or work on `df.copy()`."))),
    ("Bucket for @RES@ exports", "infra/terraform/s3_@RES@.tf", 1,
     (),
     ('provider "aws" {', '  region     = "eu-west-1"', "  @AWSKEY@", "}", "", 'resource "aws_s3_bucket" "@RES@_exports" {',
      '  bucket = "nw-@RES@-exports"', '  acl    = "public-read"', "}"),
     ((7, "critical", "`public-read` makes every export (customer data) world-readable. Keep the bucket private and share via pre-signed URLs; also add `aws_s3_bucket_public_access_block`."),
      (2, "@KEYSEV@", "@KEYMSG@"),
      (5, "minor", "No server-side encryption or lifecycle rule; add `aws_s3_bucket_server_side_encryption_configuration` and expire old exports after 30 days."))),
)
_CR_SVC = ("billing", "accounts", "connectors", "alerts", "reports")
_CR_ENTITY = ("customer", "workspace", "invoice", "dashboard", "alert")
_CR_VENDOR = ("HubSpot", "Salesforce", "Stripe", "Zendesk", "Shopify")
_CR_COMP = (("RevenueChart", "revenue", "RevenueSeries"), ("UsagePanel", "usage", "UsageSeries"), ("ChurnWidget", "churn", "ChurnSeries"), ("SeatsChart", "seats", "SeatSeries"))
_CR_RES = ("contacts", "deals", "invoices", "tickets", "orders", "subscriptions")
_CR_SYS_1 = (
    "You are a senior engineer at Northwind Analytics doing code review. Point out bugs, security problems and "
    "maintainability issues in the diff. Be concise: one bullet per issue, formatted as `path:line` [severity] "
    "comment. Severity is one of critical, major, minor, nit. End with an overall verdict."
)
_CR_SYS_3 = (
    "You are the automated PR reviewer. Output a JSON object {\"verdict\": \"approve\"|\"request_changes\", "
    "\"comments\": [{\"path\", \"line\", \"severity\", \"body\"}]}. Only comment on added lines. No prose outside the JSON."
)


def _render_diff(rng: random.Random, ti: int, pii: list[str]) -> tuple[str, str, str, list[tuple[str, int, str, str]]]:
    title, path, start, ctx_lines, added, issues = _DIFFS[ti]
    if ctx_lines:
        start += rng.randint(0, 60)
    comp, res_c, restype = rng.choice(_CR_COMP)
    fills = {"@SVC@": rng.choice(_CR_SVC), "@ENTITY@": rng.choice(_CR_ENTITY), "@VENDOR@": rng.choice(_CR_VENDOR),
             "@COMP@": comp, "@RESTYPE@": restype, "@RES@": res_c if "@COMP@" in title else rng.choice(_CR_RES),
             "@TABLE@": rng.choice(("tickets", "subscriptions", "events", "invoices")),
             "@COL@": rng.choice(("archived_at", "last_synced_at", "deleted_at", "verified_at")),
             "@MIG@": f"{rng.randint(9, 10):02d}{rng.randint(1, 28):02d}"}
    leak = ti in (2, 8) and rng.random() < 0.5
    if ti == 2:
        if leak:
            fills["@KEY@"] = f'"{pii_api_key(rng, "openai")}"'
            fills["@KEYSEV@"], fills["@KEYMSG@"] = "critical", "Hard-coded OpenAI API key committed to the repo. Revoke this key now and load it from the environment or the secrets manager (`os.environ[\"OPENAI_API_KEY\"]`)."
        else:
            fills["@KEY@"] = 'os.getenv("OPENAI_API_KEY", "")'
            fills["@KEYSEV@"], fills["@KEYMSG@"] = "minor", "Defaulting to an empty key hides misconfiguration until the first request; fail fast with `os.environ[\"OPENAI_API_KEY\"]`."
    if ti == 8:
        if leak:
            fills["@AWSKEY@"] = f'access_key = "{pii_api_key(rng, "aws")}"'
            fills["@KEYSEV@"], fills["@KEYMSG@"] = "critical", "AWS access key hard-coded in the provider block. Rotate it immediately and use the CI role / environment credentials instead."
        else:
            fills["@AWSKEY@"] = 'profile    = "northwind-prod"'
            fills["@KEYSEV@"], fills["@KEYMSG@"] = "nit", "Pin the provider profile via a variable so CI and local runs use the same configuration."
    if leak:
        pii.append("API_KEY")

    def fill(s: str) -> str:
        for k, v in fills.items():
            s = s.replace(k, v)
        return s

    title = fill(title).replace("{entity}", fills["@ENTITY@"])
    path = fill(path)
    first_added = start + len(ctx_lines)
    if ctx_lines:
        hunk = f"@@ -{start},{len(ctx_lines)} +{start},{len(ctx_lines) + len(added)} @@"
    else:
        hunk = f"@@ -0,0 +1,{len(added)} @@"
    diff = "\n".join([f"--- a/{path}" if ctx_lines else "--- /dev/null", f"+++ b/{path}", hunk]
                     + [f" {fill(c)}" for c in ctx_lines] + [f"+{fill(a)}" for a in added])
    found = [(path, first_added + i, fill(sev), fill(msg)) for i, sev, msg in issues]
    if rng.random() < 0.25 and len(found) > 2:  # reviewers don't always catch everything
        found = found[:-1]
    return title, path, diff, found


def build_code_review(rng: random.Random, ctx: Ctx) -> Draft:
    pii: list[str] = []
    picks = rng.sample(range(len(_DIFFS)), 2 if rng.random() < 0.3 else 1)
    parts = [_render_diff(rng, ti, pii) for ti in picks]
    title = parts[0][0] if len(parts) == 1 else f"{parts[0][0]}; {parts[1][0][0].lower()}{parts[1][0][1:]}"
    diff = "\n".join(p[2] for p in parts)
    found = [f for p in parts for f in p[3]]
    found.sort(key=lambda x: ("critical", "major", "minor", "nit").index(x[2]))
    blocking = any(s in ("critical", "major") for _, _, s, _ in found)
    v = rng.choices(("cr1_system_bullets", "cr2_casual_no_system", "cr3_json_bot"), weights=(5, 3, 3))[0]
    if v == "cr1_system_bullets":
        msgs = [_sys(_CR_SYS_1), _user(f"Please review PR #{rng.randint(3000, 6999)}: \"{title}\"\n\n```diff\n{diff}\n```")]
        out = "\n".join(f"- `{path}:{ln}` [{sev}] {msg}" for path, ln, sev, msg in found)
        out += "\n\nVerdict: " + ("request changes." if blocking else "approve with nits.")
    elif v == "cr2_casual_no_system":
        ask = rng.choice(("Can you review this diff? Anything wrong?", "quick review pls, going to merge this today",
                          "Is this safe to ship?", "Review this change for bugs:", f"Reviewing {rng.choice(FIRST_NAMES)}'s PR, what am I missing?",
                          "Second pair of eyes on this? CI is green but I'm not sure."))
        msgs = [_user(f"{ask}\n\n```diff\n{diff}\n```")]
        out = rng.choice(("A few things to fix before merging:", "I'd hold off merging for now. Issues I see:", "Mostly fine, but:")) + "\n\n"
        out += "\n".join(f"{i}. **{path.rsplit('/', 1)[-1]}, line {ln}** ({sev}): {msg}" for i, (path, ln, sev, msg) in enumerate(found, 1))
        out += "\n\n" + ("Once these are addressed it should be good to go." if blocking else "None of these are blocking.")
    else:
        msgs = [_sys(_CR_SYS_3), _user(f"PR #{rng.randint(3000, 6999)}: {title}\n\n{diff}")]
        out = json.dumps({"verdict": "request_changes" if blocking else "approve",
                          "comments": [{"path": path, "line": ln, "severity": sev, "body": msg} for path, ln, sev, msg in found]})
    return Draft("code_review", "code_review." + v, msgs, out, pii=pii, temperature=0.2,
                 max_tokens=rng.choice((1024, 1500, 2048)), feature="pr-review")


# ============================================================================================ 11. maths word problems
def _num(x: float) -> str:
    if abs(x - round(x)) < 1e-9:
        return f"{int(round(x)):,}"
    return f"{x:,.2f}"


def _math_problem(rng: random.Random) -> tuple[str, list[str], str]:
    """Return (problem, working steps, final answer)."""
    k = rng.randrange(11)
    if k == 0:
        seats, price, disc = rng.randint(8, 120), rng.choice((25, 35, 45, 60, 79)), rng.choice((10, 12, 15, 20))
        plan = rng.choice(PLANS)
        full = seats * price * 12
        ans = full * (1 - disc / 100)
        return (f"A customer on the {plan} plan has {seats} seats at ${price} per seat per month. They sign an annual "
                f"contract with a {disc}% discount. What is the annual contract value?",
                [f"Monthly list price: {seats} x ${price} = ${_num(seats * price)}", f"Annual list price: ${_num(seats * price)} x 12 = ${_num(full)}",
                 f"After the {disc}% discount: ${_num(full)} x {1 - disc / 100:g} = ${_num(ans)}"], f"${_num(ans)}")
    if k == 1:
        mrr, g, n = rng.choice((120, 250, 480, 910)), rng.choice((2, 3, 4, 5, 8)), rng.choice((6, 12, 18))
        ans = mrr * (1 + g / 100) ** n
        return (f"Our MRR is ${mrr}k and grows {g}% month over month. If that rate holds, what will MRR be in {n} months?",
                [f"Compound growth: {mrr}k x 1.{g:02d}^{n}", f"1.{g:02d}^{n} = {(1 + g / 100) ** n:.4f}", f"{mrr}k x {(1 + g / 100) ** n:.4f} = {ans:.1f}k"],
                f"${ans:,.1f}k")
    if k == 2:
        a, b, c = rng.randint(300, 2000), rng.randint(20, 200), rng.randint(10, 120)
        rate = c / a * 100
        return (f"We started the quarter with {a} customers, signed {b} new ones and lost {c}. What was our customer churn "
                f"rate for the quarter, and how many customers did we end with?",
                [f"Churn rate = customers lost / customers at start = {c} / {a} = {rate:.2f}%", f"Ending customers = {a} + {b} - {c} = {a + b - c}"],
                f"{rate:.2f}% churn, {a + b - c} customers")
    if k == 3:
        xs = [rng.randint(40, 130) for _ in range(5)]
        target = (sum(xs) // 50 + 2) * 50
        avg = sum(xs) / 5
        return (f"The support team closed {xs[0]}, {xs[1]}, {xs[2]}, {xs[3]} and {xs[4]} tickets Monday through Friday. "
                f"What was the daily average, and how many must they close on Saturday to reach {target} for the week?",
                [f"Total so far: {' + '.join(map(str, xs))} = {sum(xs)}", f"Average: {sum(xs)} / 5 = {avg:g}", f"Needed on Saturday: {target} - {sum(xs)} = {target - sum(xs)}"],
                f"average {avg:g}, {target - sum(xs)} on Saturday")
    if k == 4:
        cost, n, p, m = rng.choice((60000, 90000, 150000, 240000)), rng.randint(15, 80), rng.choice((99, 149, 249, 499)), rng.choice((70, 75, 80, 85))
        monthly = n * p * m / 100
        months = cost / monthly
        return (f"A new feature costs ${cost:,} to build. We expect it to bring {n} new customers paying ${p}/month at a "
                f"{m}% gross margin. How many months until it breaks even?",
                [f"Monthly gross profit: {n} x ${p} x {m / 100:g} = ${_num(monthly)}", f"Break-even: ${cost:,} / ${_num(monthly)} = {months:.1f} months"],
                f"{months:.1f} months")
    if k == 5:
        a = rng.choice((4.8, 6.2, 7.5, 9.1, 12.4))
        b = round(a * rng.uniform(0.35, 0.8), 1)
        pct = (a - b) / a * 100
        return (f"After the caching change, the median dashboard load time dropped from {a} s to {b} s. By what percentage did it decrease?",
                [f"Decrease: {a} - {b} = {a - b:.1f} s", f"Percentage: {a - b:.1f} / {a} = {pct:.1f}%"], f"{pct:.1f}%")
    if k == 6:
        r, N = rng.choice((1200, 2500, 4000, 8500)), rng.choice((3, 12, 40, 75))
        mins = N * 1_000_000 / r / 60
        return (f"A connector syncs {r:,} rows per second. How long does a full sync of {N} million rows take, in minutes?",
                [f"Seconds: {N},000,000 / {r:,} = {N * 1_000_000 / r:,.0f} s", f"Minutes: {N * 1_000_000 / r:,.0f} / 60 = {mins:,.1f}"], f"{mins:,.1f} minutes")
    if k == 7:
        ns = [rng.randint(-10, 70) for _ in range(3)]
        rs = [rng.randint(40, 600) for _ in range(3)]
        w = sum(n * r for n, r in zip(ns, rs)) / sum(rs)
        return (f"NPS by region: EMEA {ns[0]} ({rs[0]} responses), North America {ns[1]} ({rs[1]} responses), APAC "
                f"{ns[2]} ({rs[2]} responses). What is the overall NPS weighted by number of responses?",
                [f"Weighted sum: {ns[0]}x{rs[0]} + {ns[1]}x{rs[1]} + {ns[2]}x{rs[2]} = {sum(n * r for n, r in zip(ns, rs))}", f"Total responses: {sum(rs)}",
                 f"Weighted NPS: {sum(n * r for n, r in zip(ns, rs))} / {sum(rs)} = {w:.1f}"], f"{w:.1f}")
    if k == 8:
        a, d, t = rng.randint(2, 5), rng.choice((6, 8, 12)), rng.choice((3, 4, 5))
        a2, d2 = a + rng.randint(1, 4), d * rng.choice((2, 3))
        per = d / (a * t)
        days = d2 / (a2 * per)
        return (f"{a} analysts can build {d} dashboards in {t} days. At the same rate, how many days would {a2} analysts need to build {d2} dashboards?",
                [f"Rate per analyst-day: {d} / ({a} x {t}) = {per:.3f} dashboards", f"Days: {d2} / ({a2} x {per:.3f}) = {days:.2f}"], f"{days:.2f} days")
    if k == 9:
        p, c = rng.choice((800, 1500, 2400, 6000)), rng.choice((150, 300, 600))
        pin, pout = rng.choice(((2.5, 10.0), (2.0, 8.0), (3.0, 15.0), (0.15, 0.6)))
        per_call = p * pin / 1e6 + c * pout / 1e6
        return (f"One call uses {p:,} input tokens and {c} output tokens. At ${pin} per million input tokens and ${pout} "
                f"per million output tokens, what do 1,000 such calls cost?",
                [f"Input: {p:,} x ${pin}/1M = ${p * pin / 1e6:.6f}", f"Output: {c} x ${pout}/1M = ${c * pout / 1e6:.6f}",
                 f"Per call: ${per_call:.6f}; x 1,000 = ${per_call * 1000:.2f}"], f"${per_call * 1000:.2f}")
    cac, arpa, gm = rng.choice((1200, 3500, 8000, 15000)), rng.choice((150, 400, 900, 1500)), rng.choice((70, 78, 82))
    months = cac / (arpa * gm / 100)
    return (f"Our customer acquisition cost is ${cac:,}, average revenue per account is ${arpa}/month and gross margin is "
            f"{gm}%. What is the CAC payback period in months?",
            [f"Monthly gross profit per account: ${arpa} x {gm / 100:g} = ${_num(arpa * gm / 100)}", f"Payback: ${cac:,} / ${_num(arpa * gm / 100)} = {months:.1f} months"],
            f"{months:.1f} months")


_MATH_SYS_1 = (
    "Solve the problem. Show brief working, then give the final answer on the last line as 'Answer: <value>'."
)
_MATH_SYS_3 = (
    "You are a finance and metrics assistant for Northwind Analytics. Be precise, round money to two decimals, "
    "and show your steps so the result can be checked."
)


def build_math_word_problem(rng: random.Random, ctx: Ctx) -> Draft:
    problem, steps, answer = _math_problem(rng)
    v = rng.choices(("mw1_answer_line", "mw2_quick_check", "mw3_finance_steps"), weights=(4, 3, 3))[0]
    if v == "mw1_answer_line":
        msgs = [_sys(_MATH_SYS_1), _user(problem)]
        out = "\n".join(steps) + f"\n\nAnswer: {answer}"
    elif v == "mw2_quick_check":
        msgs = [_user(rng.choice(("Quick math check: ", "Can you double-check this for me? ", "", "sanity check pls: ")) + problem)]
        out = f"{answer[0].upper() + answer[1:]}.\n\n" + "; ".join(steps) + "."
    else:
        msgs = [_sys(_MATH_SYS_3), _user(problem)]
        out = "\n".join(f"Step {i}: {s}" for i, s in enumerate(steps, 1)) + f"\n\n**Result: {answer}**"
    return Draft("math_word_problem", "math_word_problem." + v, msgs, out, temperature=0.0, max_tokens=600,
                 feature="metrics-copilot")


# ========================================================================================= 12. strategy questions
_STRATEGY = {
    "pricing": (
        ("Should we move from seat-based to usage-based pricing for the mid-market tier?",
         "We keep losing deals where the buyer has 200 occasional viewers. Is usage-based pricing the answer?",
         "How should we think about pricing the new Forecasting add-on?"),
        "Probably not a full switch. A hybrid, seats for editors plus a usage component for viewers or queries, captures most of the upside without making revenue unpredictable.",
        ("Start from how customers get value. In analytics, value scales with the number of people who consume insights, not with the handful of people who build dashboards. Charging per seat for viewers taxes exactly the behaviour you want, which is why deals with many occasional viewers stall.",
         "Usage-based pricing improves land-and-expand but makes revenue less predictable. With {nrr}% net revenue retention you already expand well; a pure usage model would add month-to-month volatility that finance and your investors will notice, especially in a downturn when query volumes drop.",
         "Billing complexity is real. You would need metering you trust, a way for customers to forecast their bill, and alerts before they overrun. Buyers in regulated industries often insist on a fixed annual price, so you would end up offering commits with overage anyway.",
         "Look at the data before deciding: segment your {customers} customers by ratio of viewers to editors and by query volume, then model what each would pay under two or three candidate schemes. If more than a third would see large increases, expect churn at renewal.",
         "Competitors matter, but less than it seems. {competitor} moved to capacity pricing last year and its mid-market win rate did not change much; buyers mostly compare total cost for their expected usage, which you can match with a simpler structure.")),
    "expansion": (
        ("Should we expand into the DACH market next year or double down on North America?",
         "Is it time to open an office in Germany?", "We get inbound leads from Japan. Should we invest there?"),
        "Only if a few conditions hold: you already win there without trying, you can support customers in their language and time zone, and you have the data-residency story ready.",
        ("Inbound demand is a signal, not a strategy. Check what share of your pipeline and closed-won revenue already comes from the region, and how those deals performed: win rate, sales cycle, discount level and churn compared with home-market deals.",
         "Data residency and compliance are table stakes in Europe. You already run an EU region, which removes the biggest objection, but you will also need German-language contracts, a DPA that procurement teams recognise and references from local customers.",
         "A new market eats focus. With about {employees} employees, opening a region means at least one senior seller, a solutions engineer and support coverage. That is a meaningful share of your go-to-market budget, and the first hires need to be people who can operate without much support from headquarters.",
         "A lower-risk path is to run the region from an existing hub for two or three quarters with a partner or a single in-market seller, set clear milestones (for example, ten paying customers and two referenceable logos) and commit more only when they are met.")),
    "ai": (
        ("Should we build our own AI assistant into the product or partner with an existing provider?",
         "Everyone is shipping AI features. What should our AI strategy be?", "Is it worth building natural-language querying ourselves?"),
        "Build the parts that touch your unique data and workflow; buy or rent the models. Your advantage is the semantic layer and the context about each customer's metrics, not the model.",
        ("Be specific about the job. 'Ask a question in plain English and get a correct chart' is valuable only if it is right almost every time; a wrong number in a board deck destroys trust faster than the feature builds it. Start with narrow, verifiable tasks such as explaining a metric, drafting SQL for an analyst to review, or summarising what changed this week.",
         "Your semantic layer is the moat. Models are commoditising quickly and prices fall every few months, but knowing that 'active customer' means something specific at each customer, and which tables to join, is hard to copy. Invest there first.",
         "Cost and latency need to be designed in. At {customers} customers and a few queries per user per day, frontier-model costs add up quickly. Route simple, repetitive requests to smaller or fine-tuned models and reserve the large models for the hard cases.",
         "Security and trust will decide enterprise deals. Customers will ask where their data goes, whether it is used for training and how you prevent one tenant's data from leaking into another's answers. Have clear answers and controls before you launch, not after.")),
    "segment": (
        ("Should we move upmarket to enterprise customers or stay focused on mid-market?",
         "Our biggest deals come from enterprises but they take nine months to close. Where should we focus?",
         "Is it worth building the features enterprise buyers ask for?"),
        "Move upmarket deliberately, not all at once: pick the two or three enterprise requirements that also help your best mid-market customers, and let the rest wait.",
        ("Enterprise deals change the whole company, not just sales. Security reviews, SSO and SCIM, audit logs, custom contracts and dedicated support all have to exist before the first big logo. Each of these is a roadmap item that competes with what your current customers are asking for.",
         "Look at unit economics by segment. Mid-market deals at your current ACV likely pay back CAC within about a year; enterprise deals take longer to close but expand more and churn less. With {nrr}% net revenue retention you can afford a longer payback if expansion is reliable.",
         "Sales capacity is the constraint. Enterprise sellers are expensive and ramp slowly; one or two bad hires can cost you a year. Consider a small 'enterprise pod' that focuses on your existing largest customers first, where you already have champions.",
         "Do not abandon the mid-market motion that works. It funds the company and it is your source of future enterprise customers as they grow.")),
    "competition": (
        ("{competitor} just cut their prices by 30%. How should we respond?", "How do we compete with {competitor} in deals where price is the main objection?",
         "A competitor is bundling BI for free with their warehouse. What do we do?"),
        "Don't match the price cut across the board. Defend selectively where you are losing, and compete on total cost and time to value rather than list price.",
        ("First, find out how much it actually matters. Pull the last two quarters of lost deals and check how many cited price, and whether the competitor in those deals was {competitor}. Sales teams tend to over-attribute losses to price.",
         "A price war is expensive to win. Matching a 30% cut on your {customers} customers would cost far more at renewal than the handful of deals you lose today. Targeted responses, such as a competitive-displacement offer or a first-year discount for switching customers, are cheaper and reversible.",
         "Total cost of ownership is your friend. Free or cheap BI often requires more analyst time, more warehouse compute and more custom work. Build a simple calculator with real customer data and train the sales team to use it early in the cycle.",
         "Use the moment to sharpen positioning. If your strengths are forecasting, connector coverage and ease of use for business users, say so explicitly, and stop competing for buyers who only want the cheapest dashboard tool.")),
    "retention": (
        ("Our SMB churn is {churn}% a month. What should we do about it?", "How can we reduce churn in the Starter plan?",
         "Which levers would most improve net revenue retention next year?"),
        "Treat SMB churn mostly as an activation problem: customers who reach a first useful dashboard in the first two weeks stay; those who don't, leave.",
        ("Segment churned accounts by how far they got. Typically a large share never connected a data source or never shared a dashboard. Those customers did not churn, they never started, and the fix is onboarding rather than retention offers.",
         "Define an activation milestone that predicts retention (for example, a connected source plus a dashboard viewed by three or more people within 14 days), measure it weekly and make one team own it.",
         "Pricing and packaging can help. Annual plans with a modest discount reduce churn mechanically, and a lower-priced tier or a pause option gives price-sensitive customers an alternative to cancelling.",
         "Not all churn is worth fighting. Very small customers with one user may cost more to retain than they pay. Focus customer-success time on accounts with expansion potential and automate the rest.")),
    "fundraising": (
        ("Should we raise a Series C next year or aim for profitability?", "Is now a good time to raise, or should we extend runway?",
         "How much should we raise if we go for a Series C?"),
        "Make profitability the default plan and raise only if a specific, fundable growth opportunity needs more capital than you generate.",
        ("Investors today reward efficient growth. At roughly ${arr}M ARR, the metrics that matter are net revenue retention, burn multiple and CAC payback. If those are strong, you can raise on good terms later; if they are weak, raising now will be expensive anyway.",
         "Model three scenarios: default-alive with current burn, a moderate investment case, and an aggressive case funded by a round. Be honest about which growth bets actually need outside capital, such as a new region or a major product line, versus things you can fund from revenue.",
         "Timing matters less than readiness. A strong round needs a clear story: what the money buys, which milestones it reaches and why the company is worth more after. Start building investor relationships six to nine months before you need the money.",
         "Keep optionality. A smaller extension or venture debt can bridge to better metrics without committing to a full round at a flat valuation.")),
    "partnerships": (
        ("Should we list on the Snowflake Marketplace and invest in a partnership?", "Are technology partnerships worth it for a company our size?",
         "How should we prioritise partnerships with data warehouses versus consultancies?"),
        "Yes, but treat it as a channel experiment with targets, not a logo on a slide. Warehouse marketplaces help when buyers can pay from committed spend.",
        ("The strongest argument for marketplaces is procurement. Many enterprise customers have committed spend with their warehouse vendor and can buy through the marketplace without a new vendor review, which can shorten sales cycles considerably.",
         "Partnerships take ongoing work: co-selling only happens if partner sellers know when to bring you in and get credit for it. Budget for a partner manager and enablement material, and expect six months before it produces pipeline.",
         "Consultancies are a different motion. They influence tool choice in implementation projects, especially in the mid-market. A small certified-partner program with referral fees is cheap and can be tested in one region.",
         "Measure partner-sourced and partner-influenced pipeline separately, and review after two quarters. Cut the partnerships that don't produce.")),
}
_GENERIC_RISKS = (
    "Execution bandwidth: the team is already stretched, and a new initiative will slow down the core roadmap.",
    "Measurement: without a baseline you won't know whether the change worked. Define success metrics before starting.",
    "Customer communication: existing customers will hear about the change; prepare answers for account managers.",
    "Reversibility: prefer options you can undo cheaply if the first results are disappointing.",
    "Opportunity cost: every quarter spent here is a quarter not spent on activation and retention.",
)
_GENERIC_STEPS = (
    "Pull the last four quarters of deal and usage data to test the main assumption.",
    "Interview 8-10 customers and 5 lost prospects to validate the problem before committing budget.",
    "Write a one-page decision memo with the options, the expected impact and the metrics you will track.",
    "Run a time-boxed pilot (one segment or region, one quarter) with clear success criteria.",
    "Review results at the next leadership offsite and decide whether to scale, adjust or stop.",
    "Assign a single owner on the leadership team and a weekly metric to report.",
)
_BOTTOM_LINES = (
    "Bottom line: this is a reversible decision if you run it as an experiment, and an expensive one if you run it as a reorganisation. Start small, measure honestly and scale what works.",
    "Bottom line: the right answer depends less on the idea itself than on whether you can execute it without starving the core business. Be explicit about what you will stop doing to make room for it.",
    "Bottom line: decide with data from your own customers rather than from what competitors announce. The numbers you already have will answer most of this question within a few weeks.",
    "Bottom line: pick one clear owner, one metric and one deadline. Most strategic initiatives at this stage fail because they are everybody's second priority.",
)
_STRAT_SYS_1 = (
    "You are a strategy advisor to the leadership team of Northwind Analytics, a B2B analytics SaaS company with "
    "about ${arr}M ARR, {employees} employees and {customers} customers. Give direct, well-structured advice: "
    "start with your recommendation, then the reasoning, risks and concrete next steps."
)
_STRAT_SYS_3 = (
    "Act as an experienced operator and board member. Be candid, structure your answer with headings, and avoid "
    "generic advice; tie every point to the company's situation."
)


def build_strategy_question(rng: random.Random, ctx: Ctx) -> Draft:
    topic = rng.choice(tuple(_STRATEGY))
    questions, short, considerations = _STRATEGY[topic]
    slots = dict(arr=rng.choice((18, 22, 27, 31)), employees=rng.choice((140, 165, 190, 210)), customers=rng.choice(("1,800", "2,100", "2,400")),
                 nrr=rng.choice((108, 112, 116, 121)), competitor=rng.choice(COMPETITORS), churn=rng.choice((2.5, 3, 3.5, 4)))
    q = rng.choice(questions).format(**slots)
    cons = rng.sample(considerations, rng.randint(3, len(considerations)))
    risks = rng.sample(_GENERIC_RISKS, rng.randint(2, 3))
    steps = rng.sample(_GENERIC_STEPS, rng.randint(3, 4))
    body = (f"**Short answer:** {short}\n\n**Key considerations**\n\n" + "\n\n".join(c.format(**slots) for c in cons)
            + "\n\n**Risks**\n" + "\n".join(f"- {r}" for r in risks)
            + "\n\n**What I'd do next**\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
            + "\n\n" + rng.choice(_BOTTOM_LINES))
    v = rng.choices(("st1_advisor_system", "st2_context_in_user", "st3_operator_persona"), weights=(4, 3, 3))[0]
    if v == "st1_advisor_system":
        msgs = [_sys(_STRAT_SYS_1.format(**slots)), _user(q)]
    elif v == "st2_context_in_user":
        msgs = [_user(f"Context: we're Northwind Analytics, ~${slots['arr']}M ARR, {slots['employees']} people, NRR {slots['nrr']}%, "
                      f"main competitor {slots['competitor']}.\n\n{q}")]
    else:
        msgs = [_sys(_STRAT_SYS_3), _user(q + rng.choice(("", " Be blunt.", " I need to present a view at the board meeting next week.", " Keep it practical.")))]
    return Draft("strategy_question", "strategy_question." + v, msgs, body, temperature=0.7,
                 max_tokens=rng.choice((1500, 2000, 4096)), feature="leadership-advisor")


# ======================================================================================= 13. FAQ answering (grounded)
# policy: (title, text, ((question variants), answer), ...)
_POLICIES_CUSTOMER = (
    ("Refund policy (v3, effective 2026-07-01)",
     "Monthly plans can be cancelled at any time; we do not refund partial months. Annual plans can be refunded pro "
     "rata within the first 30 days of the term. After 30 days annual plans are non-refundable, but auto-renewal can "
     "be turned off at any time before the renewal date. Refunds go back to the original payment method within 5-10 "
     "business days. Seat reductions take effect at the start of the next billing cycle. Duplicate or erroneous "
     "charges are always refunded in full.",
     ((("Can I get a refund if I cancel my annual plan after two months?", "We're three months into an annual contract, can we cancel and get the rest back?"),
       "No. Annual plans can only be refunded pro rata within the first 30 days of the term. After that the plan is non-refundable, but you can turn off auto-renewal at any time so it won't renew."),
      (("We were charged twice this month. Will we get the money back?", "I see a duplicate charge on our card, is that refundable?"),
       "Yes. Duplicate or erroneous charges are always refunded in full. The refund goes back to your original payment method and usually arrives within 5-10 business days."),
      (("How long does a refund take to show up?", "When will I see the refund on my card?"),
       "Refunds are sent to your original payment method and typically arrive within 5-10 business days."),
      (("If I cancel my monthly plan mid-month, do I get money back for the rest of the month?", "Do you prorate refunds when cancelling a monthly subscription?"),
       "No. Monthly plans can be cancelled at any time, but partial months are not refunded. You keep access until the end of the current billing month."),
      (("If we remove 5 seats today, when does our bill go down?", "When do seat reductions take effect?"),
       "Seat reductions take effect at the start of your next billing cycle, so your next invoice will reflect the lower seat count."),
      (("Do you offer discounts for nonprofits?", "Is there an education discount?"),
       "That isn't covered by our refund policy, so I can't answer it from here. I'll pass your question to our sales team, who will get back to you."))),
    ("Data retention and deletion",
     "While a subscription is active, workspace data (dashboards, saved queries, alert definitions) is kept for as "
     "long as the workspace exists. Query results are cached for up to 24 hours. After cancellation, workspace data is "
     "retained for 30 days so the workspace can be reactivated, then permanently deleted within the following 30 days. "
     "Backups are purged within 90 days of deletion. Audit logs are retained for 1 year on the Enterprise plan and 90 "
     "days on other plans. Workspace owners can request immediate deletion from Settings > Workspace > Delete.",
     ((("How long do you keep our data after we cancel?", "What happens to our dashboards if we don't renew?"),
       "After cancellation your workspace data is kept for 30 days so you can reactivate, and then permanently deleted within the following 30 days. Backups are purged within 90 days of deletion."),
      (("Can we have all our data deleted immediately?", "We need our workspace deleted right away for compliance. Possible?"),
       "Yes. A workspace owner can request immediate deletion under Settings > Workspace > Delete. Backups are then purged within 90 days."),
      (("How long are audit logs kept?", "Can I see audit logs from last year?"),
       "Audit logs are kept for 1 year on the Enterprise plan and for 90 days on all other plans."),
      (("Do you store the results of our queries?", "Are query results saved on your side?"),
       "Query results are only cached, for up to 24 hours. The underlying data stays in your warehouse."))),
    ("Plans, seats and SSO",
     "Starter includes up to 5 editors and no viewers. Growth includes up to 50 free viewers; Business and Enterprise "
     "include unlimited viewers. Editors are billed per seat on all plans. SSO (SAML 2.0) is available on Business and "
     "Enterprise; SCIM user provisioning is Enterprise-only. Two-factor authentication is available on every plan. "
     "Upgrades take effect immediately and are prorated; downgrades take effect at the next renewal.",
     ((("Do viewers count as paid seats?", "Are read-only users free?"),
       "Viewers are free on Growth (up to 50), Business and Enterprise (unlimited). Only editors are billed per seat. Starter doesn't include viewers."),
      (("Can we use Okta SSO on the Growth plan?", "Is SAML SSO included in Growth?"),
       "No. SSO (SAML 2.0) is available on the Business and Enterprise plans. You can upgrade at any time; the upgrade takes effect immediately and is prorated."),
      (("Do you support SCIM provisioning?", "Can users be provisioned automatically from our IdP?"),
       "Yes, SCIM user provisioning is available on the Enterprise plan."),
      (("If we upgrade today, do we pay the full price for this month?", "How does billing work when upgrading mid-cycle?"),
       "Upgrades take effect immediately and are prorated, so you only pay the difference for the rest of the current billing period."))),
    ("Uptime SLA and support hours",
     "Enterprise plans include a 99.9% monthly uptime SLA. If uptime falls below 99.9%, customers receive a 10% "
     "service credit; below 99.0%, a 25% credit. Credits must be requested within 30 days. Standard support is "
     "available Monday to Friday, 8:00-20:00 CET, with a first-response target of one business day. Enterprise "
     "customers get 24/7 support for urgent issues with a one-hour first-response target.",
     ((("What compensation do we get for last week's outage?", "Do we get credits for downtime?"),
       "On Enterprise plans, if monthly uptime falls below 99.9% you receive a 10% service credit, and below 99.0% a 25% credit. Credits need to be requested within 30 days."),
      (("Is support available on weekends?", "Can I reach support on Saturday?"),
       "Standard support runs Monday to Friday, 8:00-20:00 CET. Enterprise customers have 24/7 support for urgent issues."),
      (("How fast will you respond to an urgent ticket?", "What's your response time?"),
       "For Enterprise customers, urgent issues get a first response within one hour, 24/7. Standard support aims to respond within one business day."))),
    ("Data residency",
     "Workspaces are hosted in either the EU region (Frankfurt) or the US region (Virginia). The region is chosen "
     "when the workspace is created. Query results and metadata stay in the chosen region. Moving an existing "
     "workspace to another region is available on Enterprise plans only and requires two weeks' notice.",
     ((("Can our data be stored in the EU?", "Where is our data hosted?"),
       "Yes. Workspaces can be hosted in the EU region (Frankfurt) or the US region (Virginia), chosen when the workspace is created. Query results and metadata stay in that region."),
      (("We're on Growth. Can you move our workspace from the US to the EU?", "How do we migrate our workspace to Frankfurt?"),
       "Moving an existing workspace to another region is only available on Enterprise plans and requires two weeks' notice. On Growth, you would need to create a new workspace in the EU region."))),
)
_POLICIES_HR = (
    ("Time off",
     "Full-time employees get 25 days of paid time off per calendar year plus the public holidays of their country "
     "of employment. Up to 5 unused days carry over and must be used by March 31. Requests for more than 3 "
     "consecutive days should be made in BambooHR at least two weeks in advance. Sick leave is separate from PTO and "
     "not capped; a doctor's note is required after 3 consecutive sick days.",
     ((("How many vacation days can I carry over to next year?", "I still have 9 days left, do I lose them?"),
       "You can carry over up to 5 unused PTO days, which must be used by March 31. Anything above 5 days doesn't carry over, so plan to use the rest before the end of the year."),
      (("Do sick days count against my PTO?", "I was sick for two days, do I need to use vacation?"),
       "No. Sick leave is separate from PTO and isn't capped. You only need a doctor's note if you're sick for more than 3 consecutive days."),
      (("How far in advance do I need to request a week off?", "When should I submit my holiday request for December?"),
       "For more than 3 consecutive days, submit the request in BambooHR at least two weeks in advance."))),
    ("Parental leave",
     "After six months of employment, all parents are eligible for 16 weeks of fully paid parental leave following "
     "the birth or adoption of a child. Leave can be taken in up to two blocks within 12 months. Please notify your "
     "manager and the People team at least 8 weeks before the planned start.",
     ((("How much parental leave do I get?", "What's our parental leave policy?"),
       "Eligible parents get 16 weeks of fully paid parental leave after six months of employment, for birth or adoption."),
      (("Can I split my parental leave?", "Do I have to take the 16 weeks all at once?"),
       "You can take the leave in up to two blocks, as long as both are within 12 months of the birth or adoption."),
      (("I joined four months ago. Am I eligible for parental leave?", "Is there a waiting period for parental leave?"),
       "Parental leave requires six months of employment, so you'll become eligible two months from now. The People team can help if your timing is close."))),
    ("Expenses and home office",
     "Submit expenses in Expensify within 30 days with itemised receipts. While travelling, meals are covered up to "
     "$60 per day. Book economy class for flights under 6 hours and premium economy for longer flights. Remote "
     "employees receive a one-time $500 home-office stipend and $40 per month towards internet.",
     ((("What's the meal allowance when travelling?", "How much can I spend on food on a business trip?"),
       "Meals are covered up to $60 per day while travelling. Submit the receipts in Expensify within 30 days."),
      (("Can I book premium economy for my flight to Lisbon?", "My flight to the offsite is 9 hours, what class can I book?"),
       "For flights longer than 6 hours you can book premium economy; for shorter flights, economy."),
      (("Is there a budget for my home office?", "Do we get money for a desk and chair?"),
       "Yes. Remote employees get a one-time $500 home-office stipend plus $40 per month towards internet."),
      (("I forgot to submit a receipt from two months ago. Can I still expense it?", "Is there a deadline for expenses?"),
       "Expenses should be submitted within 30 days. For anything older, please reach out to the People team or finance, since it's outside the standard policy."))),
    ("US benefits and 401(k)",
     "US employees can enroll in the 401(k) plan through Guideline at any time. Northwind matches 100% of "
     "contributions up to 4% of salary, and the match vests immediately. Contribution changes take effect on the next "
     "payroll. Health insurance is provided through Justworks; enrollment must happen within 30 days of the start "
     "date or of a qualifying life event such as marriage or the birth of a child. For questions about individual "
     "records, contact people@ through the HR portal - never share government ID numbers in chat.",
     ((("How much does Northwind match on the 401(k)?", "Is there a 401k match?"),
       "Northwind matches 100% of your 401(k) contributions up to 4% of your salary, and the match vests immediately."),
      (("I just had a baby. How do I add her to my health insurance?", "We got married last month, can I add my spouse to my insurance?"),
       "Congratulations! That's a qualifying life event, so you can add them through Justworks within 30 days of the event."),
      (("When does a change to my 401(k) contribution take effect?", "If I increase my contribution today, when does it apply?"),
       "Contribution changes take effect on the next payroll."))),
    ("Learning budget",
     "Every employee has a learning budget of $1,500 per calendar year for courses, books and conferences. Purchases "
     "over $300 need manager approval before booking. Unused budget does not roll over.",
     ((("How much is the learning budget?", "Can I expense an online course?"),
       "You have $1,500 per calendar year for courses, books and conferences. Anything over $300 needs your manager's approval first."),
      (("Does unused learning budget carry over?", "I only used $400 this year, do I keep the rest?"),
       "No, unused learning budget doesn't roll over to the next year."))),
)
_FAQ_SYS_1 = (
    "You are the help-center assistant for Northwind Analytics. Answer the customer's question using ONLY the "
    "policy below. If the policy does not answer the question, say that you will pass it to the team. Keep it to "
    "2-3 sentences.\n\nPolicy: {title}\n{text}"
)
_FAQ_SYS_3 = (
    "You are PeopleBot, Northwind's internal HR assistant. Answer employees' questions from the handbook excerpt "
    "below. Be friendly and brief. If the answer isn't in the excerpt, point them to the People team. Never ask for "
    "or repeat personal identifiers.\n\nHandbook - {title}:\n{text}"
)
_SSN_PREFIXES = (
    "My SSN is {ssn}, can you check whether my 401(k) enrollment went through? ",
    "For context my social security number is {ssn}. ",
    "HR asked for my SSN ({ssn}) on the Justworks form, is that normal? Also: ",
)
_SSN_ANSWER = "Please don't share your Social Security number in chat; I can't look up individual records, and the People team can help through the HR portal. "


def build_faq_answer(rng: random.Random, ctx: Ctx) -> Draft:
    pii: list[str] = []
    internal = ctx.service == "internal"
    pool = _POLICIES_HR if internal else _POLICIES_CUSTOMER
    title, text, qas = rng.choice(pool)
    qvars, answer = rng.choice(qas)
    q = rng.choice(qvars)
    if internal:
        if "401(k)" in title and rng.random() < 0.35:
            q = rng.choice(_SSN_PREFIXES).format(ssn=pii_ssn(rng)) + q
            answer = _SSN_ANSWER + answer
            pii.append("NATIONAL_ID")
        elif rng.random() < 0.05:
            f, ln = person(rng)
            q = q + f" (you can also reach me at {pii_email(rng, f, ln, None)} while I'm on leave)"
            pii.append("EMAIL")
        q = rng.choice(("", "", "Hi PeopleBot, ", "hey, ", "Quick question: ", "Hello! ")) + q
        q += rng.choice(("", "", " Thanks!", f" I'm based in {rng.choice(('Lisbon', 'Chicago', 'Amsterdam', 'Denver'))}.",
                         " Asking for a friend on my team.", " 🙏"))
        msgs = [_sys(_FAQ_SYS_3.format(title=title, text=text)), _user(q)]
        v = "f3_peoplebot_handbook"
        feature = "peoplebot"
    else:
        v = rng.choices(("f1_grounded_system", "f2_user_only_context"), weights=(3, 2))[0]
        q = rng.choice(("", "", "", "Hi! ", "Hello, quick question: ", "Hey - ", "Good morning. ")) + q
        q += rng.choice(("", "", "", " Thanks!", f" We're on the {rng.choice(PLANS)} plan.", " Asking for our finance team.",
                         f" (account: {customer(rng)[0]})", " Thank you in advance."))
        if v == "f1_grounded_system":
            msgs = [_sys(_FAQ_SYS_1.format(title=title, text=text)), _user(q)]
        else:
            msgs = [_user(f"Policy:\n{text}\n\nQuestion: {q}\nAnswer in 2-3 sentences using only the policy.")]
        feature = "help-answers"
    return Draft("faq_answer", "faq_answer." + v, msgs, answer, pii=pii, temperature=0.0, max_tokens=300, feature=feature)


# ========================================================================================== 14. chit-chat / small talk
_CHAT = (
    ("hey nori, how's it going?", "Hey! All good on my side, just counting rows and sipping virtual coffee. How's your day going?"),
    ("good morning!", "Good morning! Hope the coffee is strong and the meetings are short today."),
    ("tell me a joke about data engineers", "Why did the data engineer break up with the spreadsheet? Too many unresolved references."),
    ("tell me a joke", "I told my dashboard a joke about null values. It didn't return anything."),
    ("thanks, that was really helpful!", "Happy to help! Ping me anytime."),
    ("thank you!!", "Anytime! Have a great rest of your day."),
    ("what should I have for lunch?", "If you're near the office, the ramen place around the corner is always a safe bet. If you're remote: leftovers count as meal prep."),
    ("any ideas for a name for our team offsite?", "A few ideas: 'Data Retreat', 'The Big Join', 'Offsite & Sound', or 'Query Camp'. I'm partial to 'The Big Join'."),
    ("can you recommend a podcast about product management?", "A few people here like 'Lenny's Podcast' for product and growth interviews, and 'Product Thinking' for shorter episodes."),
    ("is it friday yet?", "Not quite, but every day is one day closer to Friday."),
    ("i'm so tired today", "Sorry to hear that! Maybe a short walk or some water helps. And if you can, move the deep-focus work to tomorrow morning."),
    ("what's the weather usually like in {city} in october?", "{city} in October is usually mild with some rain, so bring a light jacket and an umbrella."),
    ("suggest a fun icebreaker for a team meeting", "Try 'two truths and a lie, work edition', or ask everyone for their most-used emoji and the story behind it."),
    ("write a haiku about dashboards", "Charts bloom in the dawn,\nfilters fall like autumn leaves,\nthe KPI's green."),
    ("what's a good book for the holidays?", "If you like non-fiction, 'The Soul of a New Machine' is a classic. For fiction, 'Project Hail Mary' is a fun, fast read."),
    ("happy birthday to {first}!", "Happy birthday, {first}! 🎉 Hope it's a great one."),
    ("how do you say 'cheers' in portuguese?", "'Saúde!' Handy for the Lisbon offsite."),
    ("i just shipped my first PR here", "Congrats on your first PR! 🚀 That's a big milestone. Welcome to the team."),
    ("what time is it in tokyo right now?", "I can't see a live clock, but Tokyo is UTC+9, so it's 7 hours ahead of Lisbon in winter and 8 ahead during Lisbon summer time."),
    ("are you a robot?", "Guilty. I'm Nori, the office assistant. No coffee breaks needed, but I appreciate the thought."),
    ("give me a motivational quote for monday", "\"Small daily improvements are the key to staggering long-term results.\" Happy Monday!"),
    ("recommend a board game for 6 people", "Codenames works great for six, and if you want something longer, try Ticket to Ride with the expansion."),
    ("who won the office fantasy football league last year?", "I don't have that info, but I suspect whoever wins will remind everyone on Slack for weeks."),
    ("can you help me write a short farewell message for {first}?", "Sure: \"{first}, it's been a joy working with you. Thanks for all the laughs, the help and the great ideas. Wherever you go next is lucky to have you. Keep in touch!\""),
    ("what's a fun fact?", "Octopuses have three hearts and blue blood. Also, honey never spoils."),
    ("ugh, another meeting", "Hang in there! Maybe ask if it could be an async update next time."),
    ("good night nori", "Good night! Log off and rest well."),
    ("lol", "😄"),
    ("remind me what we call the quarterly all-hands", "That's the 'Northwind Town Hall', usually the first Thursday after quarter end."),
    ("what's the wifi password in the office?", "I don't have access to that. The office manager or the #office-lisbon channel can help."),
)
_CHAT_CITIES = ("Lisbon", "Amsterdam", "Chicago", "Berlin", "Dublin", "Denver", "Tokyo")
_CHAT_SYS_1 = (
    "You are Nori, Northwind Analytics' friendly internal assistant in Slack. Keep replies short, warm and a little "
    "playful. Don't make up company facts. Today is {weekday}."
)
_CHAT_SYS_3 = "You are a helpful assistant. Current date: {date}. The user's name is {first}."


def build_chit_chat(rng: random.Random, ctx: Ctx) -> Draft:
    pii: list[str] = []
    slots = {"city": rng.choice(_CHAT_CITIES), "first": rng.choice(FIRST_NAMES)}
    u, a = rng.choice(_CHAT)
    u, a = u.replace("{city}", slots["city"]).replace("{first}", slots["first"]), a.replace("{city}", slots["city"]).replace("{first}", slots["first"])
    if rng.random() < 0.3:
        u = u[0].upper() + u[1:]
    u += rng.choice(("", "", "", "!", " 🙂", " :)", "??", " pls"))
    if rng.random() < 0.03:
        f, ln = person(rng)
        u = f"can you remind me to call {f} {ln} back tomorrow? number is {pii_phone(rng)}"
        a = f"I can't set reminders yet, but you can type `/remind me tomorrow at 10am to call {f}` in Slack. 📞"
        pii.append("PHONE")
    history: list[dict[str, Any]] = []
    if rng.random() < 0.3:
        hu, ha = rng.choice(_CHAT)
        history = [_user(hu.replace("{city}", slots["city"]).replace("{first}", slots["first"])),
                   _asst(ha.replace("{city}", slots["city"]).replace("{first}", slots["first"]))]
    if ctx.service == "copilot":
        v = "c3_assistant_with_name"
    else:
        v = rng.choices(("c1_nori_system", "c2_no_system", "c3_assistant_with_name"), weights=(6, 2, 2))[0]
    if v == "c1_nori_system":
        msgs = [_sys(_CHAT_SYS_1.format(weekday=WEEKDAYS[ctx.when.weekday()]))] + history + [_user(u)]
    elif v == "c2_no_system":
        msgs = history + [_user(u)]
    else:
        msgs = [_sys(_CHAT_SYS_3.format(date=ctx.when.strftime("%Y-%m-%d"), first=rng.choice(FIRST_NAMES)))] + history + [_user(u)]
    return Draft("chit_chat", "chit_chat." + v, msgs, a, pii=pii, temperature=0.8, max_tokens=256, feature="nori")


# ==================================================================================================== registry
TASKS: tuple[tuple[str, str], ...] = (
    ("ticket_triage", "classification"), ("review_sentiment", "classification"),
    ("invoice_extraction", "extraction"), ("keyword_extraction", "extraction"),
    ("meeting_summary", "writing"), ("email_drafting", "writing"), ("translation", "writing"), ("release_notes", "writing"),
    ("sql_generation", "code"), ("code_review", "code"),
    ("math_word_problem", "reasoning"), ("strategy_question", "reasoning"),
    ("faq_answer", "conversation"), ("chit_chat", "conversation"),
)
FAMILY = dict(TASKS)
BUILDERS = {
    "ticket_triage": build_ticket_triage, "review_sentiment": build_review_sentiment,
    "invoice_extraction": build_invoice_extraction, "keyword_extraction": build_keyword_extraction,
    "meeting_summary": build_meeting_summary, "email_drafting": build_email_drafting, "translation": build_translation,
    "release_notes": build_release_notes, "sql_generation": build_sql_generation, "code_review": build_code_review,
    "math_word_problem": build_math_word_problem, "strategy_question": build_strategy_question,
    "faq_answer": build_faq_answer, "chit_chat": build_chit_chat,
}
