"""Content for the drifted second month of :mod:`slmprofile.sample`: résumé screening, a task month 1 does not have.

Northwind's talent team starts a recruiting tool ("talent-screen", behind the LiteLLM proxy) that scores a
candidate's résumé against a job's requirements and answers in JSON. Same rules as :mod:`slmprofile.sample_content`:
fictional people and employers, only ``random.Random`` calls on tuples, so a seed reproduces the output exactly.
About 40% of the résumés carry the candidate's email and/or phone number (recorded in ``Draft.pii``).
"""

from __future__ import annotations

import json
import random
from typing import Any

from .sample_content import Ctx, Draft, person, pii_email, pii_phone

# title -> (team, must-have skills, nice-to-have skills, minimum years, past job titles of plausible candidates)
_JOBS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], int, tuple[str, ...]], ...] = (
    ("Senior Data Engineer", "Data Platform", ("Python", "SQL", "Airflow", "dbt"), ("Kafka", "Terraform", "Snowflake"), 5,
     ("Data Engineer", "Backend Engineer", "ETL Developer", "Senior Data Engineer")),
    ("Analytics Engineer", "Analytics", ("SQL", "dbt", "Looker", "data modelling"), ("Python", "BigQuery", "Git"), 3,
     ("BI Developer", "Data Analyst", "Analytics Engineer", "Reporting Analyst")),
    ("Product Designer", "Product", ("Figma", "user research", "prototyping", "design systems"),
     ("data visualisation", "HTML/CSS", "B2B SaaS"), 4, ("UX Designer", "UI Designer", "Product Designer", "Visual Designer")),
    ("Account Executive", "Sales", ("B2B SaaS sales", "Salesforce", "MEDDICC", "enterprise deals"),
     ("German", "HubSpot", "analytics market"), 3, ("Account Executive", "Sales Development Rep", "Account Manager")),
    ("Support Lead", "Customer Support", ("Zendesk", "team leadership", "SLA management", "SQL"),
     ("French", "Jira", "knowledge base writing"), 4, ("Support Specialist", "Support Team Lead", "Customer Success Manager")),
    ("Solutions Engineer", "Sales", ("SQL", "REST APIs", "solution demos", "data warehouses"),
     ("Python", "Snowflake", "Spanish"), 3, ("Sales Engineer", "Implementation Consultant", "Technical Account Manager")),
    ("Data Scientist", "Insights", ("Python", "statistics", "experiment design", "SQL"),
     ("causal inference", "forecasting", "PyTorch"), 3, ("Data Scientist", "Quantitative Analyst", "Research Analyst")),
    ("Frontend Engineer", "Product Engineering", ("TypeScript", "React", "testing", "accessibility"),
     ("D3.js", "GraphQL", "Storybook"), 3, ("Frontend Developer", "Web Developer", "Software Engineer")),
)
_GENERAL_SKILLS = ("Excel", "Jira", "Notion", "public speaking", "Tableau", "Git", "Agile", "stakeholder management",
                   "mentoring", "Confluence", "Spanish", "Portuguese", "Dutch", "Google Analytics")
_EMPLOYERS = ("Bramble Systems", "Copperleaf Analytics", "Harborview Bank", "Quillfield Software", "Stonebridge Retail",
              "Tessellate AI", "Veridian Logistics", "Wrenfield Health", "Lattice & Co", "Oakmere Media",
              "Northgate Insurance", "Pellucid Games", "Rookwood Consulting", "Silverline Telecom", "Marlow Foods",
              "Gannet Travel", "Ironbark Energy", "Kindling Education")
_SCHOOLS = ("University of Manchester", "TU Delft", "Universidade do Porto", "University of Illinois", "KTH Stockholm",
            "University College Dublin", "Humboldt-Universität zu Berlin", "University of Texas at Austin",
            "Politecnico di Milano", "University of Leeds", "Universidad Carlos III de Madrid")
_DEGREES = ("BSc Computer Science", "MSc Data Science", "BA Economics", "BA Graphic Design", "BSc Mathematics", "MBA",
            "BA Communication", "BSc Statistics", "MSc Human-Computer Interaction", "BA Business Administration")
_CITIES = ("Lisbon", "Amsterdam", "Chicago", "Berlin", "Dublin", "Denver", "Manchester", "Barcelona", "Austin",
           "Stockholm", "Remote (EU)", "Remote (US)")
_METRICS = ("onboarding time", "churn", "time to resolution", "report latency", "cycle time", "cloud spend",
            "ticket backlog", "sales cycle length", "page load time", "manual reporting work")
_WINS = (
    "Used {skill} to cut {metric} by {pct}%",
    "Introduced {skill} across a team of {n}",
    "Owned {skill} work for {n} enterprise accounts",
    "Mentored {n} colleagues in {skill}",
    "Delivered a {skill} project that saved about ${k}k a year",
    "Rebuilt the {skill} setup, reducing {metric} by {pct}%",
    "Ran {skill} workshops for {n} teams",
)
_SYS_1 = ("You are a recruiting assistant for Northwind Analytics' talent team. Compare the candidate's résumé with "
          "the job requirements. Return only JSON: {\"fit_score\": 1-5, \"strengths\": [..], \"gaps\": [..], "
          "\"recommendation\": \"advance\" | \"hold\" | \"reject\"}. Judge skills and experience only; ignore name, "
          "age, gender, nationality and photos.")
_SYS_3 = ("You screen applications for Northwind Analytics using this rubric.\n"
          "5 = meets every must-have and the minimum years, plus nice-to-haves\n"
          "4 = meets every or all but one must-have and the minimum years\n"
          "3 = promising but missing must-haves or years; worth a second look\n"
          "1-2 = clearly not a fit for this role\n"
          "Recommend advance for 4-5, hold for 3, reject for 1-2. Answer with a JSON object with the keys fit_score, "
          "strengths, gaps, recommendation and rubric_notes (one sentence). No prose outside the JSON.")
_ASKS_2 = (
    "Screen this candidate for our {title} opening ({team}).",
    "Can you assess this applicant for the {title} role on the {team} team?",
    "quick screen pls: {title}, {team}.",
    "We got a new application for {title}. How well do they fit?",
)


def _resume(rng: random.Random, job: tuple, pii: list[str]) -> tuple[str, list[str], int]:
    """The résumé text, the candidate's skills and years of experience."""
    title, _, must, nice, min_years, past = job
    first, last = person(rng)
    years = rng.choice((1, 2, 2, 3, 3, 4, 5, 5, 6, 7, 8, 9, 11, 14)) if rng.random() < 0.8 else rng.randint(1, min_years)
    skills = rng.sample(must, rng.choices((1, 2, 3, 4), weights=(1, 3, 4, 3))[0])
    skills += rng.sample(nice, rng.randint(0, 2)) + rng.sample(_GENERAL_SKILLS, rng.randint(1, 3))
    skills = list(dict.fromkeys(skills))
    rng.shuffle(skills)
    city = rng.choice(_CITIES)
    contact = [city]
    r = rng.random()
    if r < 0.4:
        if r < 0.3:
            contact.append(pii_email(rng, first, last))
            pii.append("EMAIL")
        if r >= 0.2:
            contact.append(pii_phone(rng))
            pii.append("PHONE")
    core = [s for s in skills if s in must or s in nice]  # what the achievements talk about
    n_jobs = min(years, rng.choices((1, 2, 3), weights=(2, 3, 2))[0])
    jobs, left, end_year = [], years, 2026
    for i in range(n_jobs):
        span = left if i == n_jobs - 1 else rng.randint(1, left - (n_jobs - 1 - i))
        wins = [w.format(skill=rng.choice(core), metric=rng.choice(_METRICS), pct=rng.randint(8, 60),
                         n=rng.randint(3, 25), k=rng.randint(20, 400)) for w in rng.sample(_WINS, rng.randint(1, 2))]
        jobs.append((rng.choice(past), rng.choice(_EMPLOYERS), end_year - span, end_year, wins))
        end_year -= span
        left -= span
    school, degree, grad = rng.choice(_SCHOOLS), rng.choice(_DEGREES), end_year - rng.randint(0, 2)
    style = rng.randrange(3)
    if style == 0:  # plain CV with headings
        exp = "\n".join(f"{t}, {e} ({a}-{'present' if b == 2026 else b})\n" + "\n".join(f"  - {w}" for w in ws)
                        for t, e, a, b, ws in jobs)
        text = (f"{first.upper()} {last.upper()}\n{' | '.join(contact)}\n\nEXPERIENCE\n{exp}\n\nSKILLS\n"
                f"{', '.join(skills)}\n\nEDUCATION\n{degree}, {school}, {grad}")
    elif style == 1:  # pasted from a profile page
        exp = "\n".join(f"{t} at {e}, {a} - {'now' if b == 2026 else b}. " + ". ".join(ws) + "." for t, e, a, b, ws in jobs)
        text = (f"{first} {last} - {jobs[0][0]} - {' - '.join(contact)}\nAbout: {years} years in {rng.choice(past).lower()} "
                f"roles, most recently at {jobs[0][1]}.\n{exp}\nSkills: {' · '.join(skills)}\n{school}: {degree} ({grad})")
    else:  # markdown
        exp = "\n".join(f"### {t} - {e}\n*{a}-{'present' if b == 2026 else b}*\n" + "\n".join(f"- {w}" for w in ws)
                        for t, e, a, b, ws in jobs)
        text = (f"# {first} {last}\n{' · '.join(contact)}\n\n## Experience\n{exp}\n\n## Skills\n"
                + "\n".join(f"- {s}" for s in skills) + f"\n\n## Education\n{degree}, {school} ({grad})")
    return text, skills, years


def _assess(job: tuple, skills: list[str], years: int) -> dict[str, Any]:
    title, _, must, nice, min_years, _ = job
    matched = [s for s in must if s in skills]
    bonus = [s for s in nice if s in skills]
    years_ok = years >= min_years
    missing = len(must) - len(matched)
    if years_ok and missing == 0 and bonus:
        score = 5
    elif years_ok and missing <= 1:
        score = 4
    elif missing <= 1 or (years_ok and 2 * len(matched) >= len(must)):
        score = 3
    else:
        score = 2 if years_ok or 2 * len(matched) >= len(must) else 1
    strengths = ([f"{years} years of relevant experience"] if years_ok else []) + [f"Hands-on {s}" for s in matched]
    strengths += [f"Nice-to-have: {s}" for s in bonus]
    gaps = [f"No evidence of {s}" for s in must if s not in matched]
    if not years_ok:
        gaps.append(f"{years} year{'s' if years != 1 else ''} of experience vs {min_years}+ required for {title}")
    rec = "advance" if score >= 4 else "hold" if score == 3 else "reject"
    return {"fit_score": score, "strengths": strengths or ["Transferable experience"], "gaps": gaps, "recommendation": rec}


def build_resume_screening(rng: random.Random, ctx: Ctx) -> Draft:
    pii: list[str] = []
    job = rng.choice(_JOBS)
    title, team, must, nice, min_years, _ = job
    resume, skills, years = _resume(rng, job, pii)
    reqs = (f"Job: {title} ({team})\nMust have: {', '.join(must)}; {min_years}+ years of experience\n"
            f"Nice to have: {', '.join(nice)}")
    verdict = _assess(job, skills, years)
    v = rng.choices(("rs1_system_json", "rs2_inline_user", "rs3_rubric"), weights=(5, 3, 2))[0]
    if v == "rs1_system_json":
        msgs = [{"role": "system", "content": _SYS_1},
                {"role": "user", "content": f"{reqs}\n\nRésumé:\n{resume}"}]
        out = json.dumps(verdict, ensure_ascii=False)
    elif v == "rs2_inline_user":
        ask = rng.choice(_ASKS_2).format(title=title, team=team)
        msgs = [{"role": "user", "content": (
            f"{ask} Must-haves: {', '.join(must)} and at least {min_years} years. Nice to have: {', '.join(nice)}.\n"
            "Give me a 1-5 fit score, strengths, gaps and advance/hold/reject as JSON.\n\n" + resume)}]
        out = "```json\n" + json.dumps(verdict, ensure_ascii=False, indent=2) + "\n```"
    else:
        note = ("Meets the bar on must-haves and experience." if verdict["fit_score"] >= 4 else
                "Partial match; a hiring-manager look could settle it." if verdict["fit_score"] == 3 else
                "Too far from the must-haves for this role.")
        msgs = [{"role": "system", "content": _SYS_3},
                {"role": "user", "content": f"{reqs}\n\nCandidate résumé:\n{resume}"}]
        out = json.dumps({**verdict, "rubric_notes": note}, ensure_ascii=False, indent=1)
    return Draft("resume_screening", "resume_screening." + v, msgs, out, pii=pii, temperature=0.0,
                 max_tokens=rng.choice((400, 600, 800)), feature="talent-screen")
