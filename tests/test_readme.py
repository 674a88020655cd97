"""The README names only what exists.

Every lesson script, file and folder of the checkout, picture and
``python -m`` module the README names must exist (or import); every lesson
number it cites must be a lesson; every ``--flag`` it gives a lesson must be
in that lesson's ``--help`` (and a value it gives a flag with choices, such as
``--dataset folder``, among them); and the names in the "Where things live"
table must be in the module its row names. ``test_planted_renames_are_caught``
checks that the checker fails on renamed names, so that a green run means
something.

Which lesson a flag belongs to: in a command, the lesson it runs; in prose,
a table row or a list item, the nearest lesson named before the flag in that
paragraph; else "every lesson" (all of them) or "every GAN lesson" (10-19) when
the paragraph says so; else the benchmark, in the benchmark's section or a
paragraph that runs it; else the last lesson named earlier in the section;
else at least one lesson (or the benchmark) must take it.

The lessons' ``--help`` runs through this interpreter (``sys.executable``, the
virtual environment's), once per lesson, in parallel. ``TINYGEN_README``
points the checks at another file (to try a changed README).
"""
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSONS = os.path.join(ROOT, "lessons")
FIGURES = os.path.join(LESSONS, "figures")
GAN_LESSONS = tuple(f"{n:02d}" for n in range(10, 20))
BENCHMARK = "tinygen.utils.benchmark"


def read_readme():
    with open(os.environ.get("TINYGEN_README") or os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def lesson_files():
    """{"16": "16_wgan_gp.py", ...}: the lesson scripts in lessons/."""
    return {f.split("_")[0]: f for f in sorted(os.listdir(LESSONS)) if re.fullmatch(r"\d\d[a-z]?_\w+\.py", f)}


def repo_files():
    """Every file and folder under the checkout (relative, '/'-separated), without .git, .venv and caches."""
    out = set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("__pycache__", "runs", "data")
                   and not d.endswith(".egg-info")]
        rel = os.path.relpath(folder, ROOT).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        if prefix:
            out.add(prefix)
        out.update(prefix + f for f in files)
    return out


# ------------------------------------------------------------------ parsing the README
def units(text):
    """(section title, kind, text) for every paragraph, list item, table row and command line.

    kind is "code" for a line of a fenced block (one command), else "prose".
    """
    out, section, block, fence = [], "", [], False

    def flush():
        if block:
            out.append((section, "prose", "\n".join(block)))
            block.clear()

    for line in text.splitlines():
        if line.startswith("```"):
            flush()
            fence = not fence
            continue
        if fence:
            out.append((section, "code", line))
            continue
        if line.startswith("#"):
            flush()
            section = line.lstrip("#").strip()
        elif not line.strip():
            flush()
        elif line.startswith("|") or re.match(r"\s*- ", line):
            flush()
            block.append(line)
            if line.startswith("|"):
                flush()
        else:
            block.append(line)
    flush()
    return out


def spans(unit_text, kind):
    """(offset, text) of the code spans in a unit: its backticked spans, or a command line's
    ``python`` segments (other commands, such as pip or jupytext, have flags of their own)."""
    if kind == "code":
        line = unit_text.split("#", 1)[0]
        out, pos = [], 0
        for seg in re.split(r"&&|;", line):
            words = seg.split()
            if words and re.search(r"(^|/)python3?$", words[0]):
                out.append((line.index(seg, pos), seg))
            pos += len(seg) + 2
        return out
    return [(m.start(1), m.group(1)) for m in re.finditer(r"`([^`]+)`", unit_text)]


LESSON_FILE = re.compile(r"(?:lessons/)?(\d\d[a-z]?)_[a-z0-9_]+\.py\b")
LESSON_WORDS = re.compile(r"\b[Ll]essons?\s+(\d\d(?:\s*(?:[–-]|,|and|or)\s*\d\d)*)")


def lesson_refs(unit_text):
    """[(offset, (lesson numbers))] of the lessons a unit names, as files or in words
    ("lesson 13", "lessons 15-19", "lessons 13, 16 and 19")."""
    refs = [(m.start(), (m.group(1),)) for m in LESSON_FILE.finditer(unit_text)]
    for m in LESSON_WORDS.finditer(unit_text):
        nums = []
        for part in re.split(r"\s*(?:,|and|or)\s*", m.group(1)):
            ends = re.split(r"\s*[–-]\s*", part)
            if len(ends) == 2:
                nums += [f"{n:02d}" for n in range(int(ends[0]), int(ends[1]) + 1)]
            else:
                nums.append(ends[0])
        refs.append((m.start(), tuple(nums)))
    return sorted(refs)


def flags_in(span_text):
    """[(flag, value or None)] in a code span: ``--dataset fashion-mnist|mnist`` gives
    ("--dataset", "fashion-mnist|mnist")."""
    words = span_text.split()
    out = []
    for i, w in enumerate(words):
        m = re.fullmatch(r"(--[a-z][a-z0-9-]*)(?:=(\S+))?[.,;:)]*", w)
        if m:
            value = m.group(2)
            if value is None and i + 1 < len(words) and not words[i + 1].startswith("-"):
                value = words[i + 1]
            out.append((m.group(1), value))
    return out


# ------------------------------------------------------------------ what the lessons take
def _help(args):
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, *args, "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(args)} --help failed:\n{proc.stderr[-2000:]}"
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", proc.stdout))
    choices = {f: set(c.split(",")) for f, c in re.findall(r"(--[a-z][a-z0-9-]*) \{([^}]*)\}", proc.stdout)}
    return flags, choices


@lru_cache(maxsize=None)
def cli(target):
    """(flags, {flag: choices}) from the ``--help`` of a lesson ("13") or of ``BENCHMARK``."""
    if target == BENCHMARK:
        return _help(["-m", BENCHMARK])
    return _help([os.path.join("lessons", lesson_files()[target])])


def prefetch(targets):
    """Run the ``--help`` of several targets at once (each subprocess mostly waits on imports)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(cli, sorted(set(targets))))


def flag_problem(flag, value, owners, any_of=False):
    """A message if ``flag`` (with ``value``) is not taken by every owner (by one when any_of), else None."""
    ok = []
    for owner in owners:
        flags, choices = cli(owner)
        good = flag in flags
        if good and value and flag in choices:
            good = all(v in choices[flag] for v in value.split("|"))
        ok.append(good)
    if (any(ok) if any_of else all(ok)):
        return None
    who = ", ".join(o if o == BENCHMARK else "lesson " + o for o, good in zip(owners, ok) if not good)
    return f"{flag}{' ' + value if value else ''}: not in the --help of {'any of ' if any_of else ''}{who}"


# ------------------------------------------------------------------ the checks
def check_lessons(text):
    """Every lesson script and lesson number the README names exists."""
    have = lesson_files()
    problems = []
    for m in re.finditer(r"(?<![\w/])(?:lessons/)?(\d\d[a-z]?_[a-z0-9_]+\.py)\b", text):
        if m.group(1) not in have.values():
            problems.append(f"no lesson script lessons/{m.group(1)}")
    for _, _, unit_text in units(text):
        for _, nums in lesson_refs(unit_text):
            problems += [f"no lesson {n} (in {unit_text[:60]!r}...)" for n in nums if n not in have]
    return sorted(set(problems))


PATHISH = re.compile(r"[\w.-]+(?:/[\w.-]+)*/?")


def check_paths(text):
    """Every file or folder of the checkout named in a code span or a link exists: paths under
    tinygen/, tests/, lessons/ and .ci/, and bare names of files in the package (``data.py``,
    ``nn/norm.py``, ``utils/weights/``, ``requirements.txt``)."""
    files = repo_files()
    problems = []
    names = [s for _, kind, u in units(text) for _, s in spans(u, kind) if kind == "prose"]
    names += re.findall(r"\]\(([^)#\s]+)\)", text)
    for name in names:
        name = name.strip()
        if not PATHISH.fullmatch(name) or name.startswith(("runs/", "./", ".venv/", "http")):
            continue  # written by a run or by the set-up commands, or not a path
        if re.match(r"(tinygen|tests|lessons|\.ci)/", name):
            if name.endswith(".ipynb"):  # written by jupytext, not shipped
                continue
            if not os.path.exists(os.path.join(ROOT, name)):
                problems.append(f"no {name}")
        elif re.search(r"(/|\.(py|toml|txt|cfg))$", name) or re.search(r"/.*\.\w+$", name):
            if not any(f == name or f.endswith("/" + name) for f in files):
                problems.append(f"no file or folder ending in {name}")
    return sorted(set(problems))


def check_figures(text):
    """Every picture named, as ``lessons/figures/...`` or as a bare ``NN_name.png``/``.gif``, exists."""
    problems = []
    for m in re.finditer(r"(?<![\w/])(?:lessons/figures/)?(\d\d_[\w-]+\.(?:png|gif))", text):
        if not os.path.isfile(os.path.join(FIGURES, m.group(1))):
            problems.append(f"no picture lessons/figures/{m.group(1)}")
    for m in re.finditer(r"lessons/figures/([^)`\s]+)", text):
        if not os.path.isfile(os.path.join(FIGURES, m.group(1))):
            problems.append(f"no picture lessons/figures/{m.group(1)}")
    return sorted(set(problems))


def resolve(dotted, bases=("",)):
    """True if ``dotted`` (``tinygen.utils.gan.gradient_penalty``, ``lr_scheduler.CosineAnnealingLR``)
    is a module, or an attribute reached from one, relative to one of ``bases``."""
    for base in bases:
        parts = ((base + "." if base else "") + dotted).split(".")
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            for attr in parts[i:]:
                obj = getattr(obj, attr, None)
                if obj is None:
                    break
            else:
                return True
            break
    return False


def check_modules(text):
    """Every ``python -m tinygen...`` module imports, and every dotted ``tinygen.`` name in a code
    span is a module or an attribute of one."""
    problems = []
    for mod in re.findall(r"-m\s+(tinygen[\w.]*)", text):
        if importlib.util.find_spec(mod) is None:
            problems.append(f"python -m {mod}: no such module")
    for name in re.findall(r"`(tinygen(?:\.\w+)+)(?:\(\))?`", text):
        if not resolve(name):
            problems.append(f"{name}: not importable")
    return sorted(set(problems))


def _row_modules(first_cell, files):
    """The modules (dotted) a "Where things live" row is about, from the paths in its first cell."""
    mods = []
    for name in re.findall(r"`([^`]+)`", first_cell):
        cands = [f for f in files if f.startswith("tinygen/") and (f == name or f.endswith("/" + name))]
        for f in cands:
            mod = f.rstrip("/").removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            mods.append(mod)
    return mods


def check_table_names(text):
    """The functions and classes a row of the "Where things live" table lists are in its module:
    an attribute of the module or of a class in it (``Tensor.backward``, ``F.conv2d`` for
    ``functional.py``), or at least a name its source still uses (``param_groups``)."""
    files = repo_files()
    problems = []
    for section, _, row in units(text):
        if not section.startswith("Where things live") or not row.startswith("|"):
            continue
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        mods = _row_modules(cells[0], files)
        if not mods or len(cells) < 2:
            continue
        sources = []
        for mod in mods:
            spec = importlib.util.find_spec(mod)
            paths = [spec.origin] if spec.origin else []
            if spec.submodule_search_locations:  # a package: its modules' sources too
                for loc in spec.submodule_search_locations:
                    paths += [os.path.join(loc, f) for f in os.listdir(loc) if f.endswith(".py")]
            sources += [open(p, encoding="utf-8").read() for p in paths]
        for name in re.findall(r"`([A-Za-z_][\w.]*)(?:\(\))?`", cells[1]):
            if name.endswith(".py") or name.startswith(("torch", "tinygen")):
                continue  # a file (check_paths) or a dotted name (check_modules)
            dotted = name.removeprefix("F.")
            if any(resolve(dotted, (mod,)) for mod in mods):
                continue
            if any(resolve(dotted, (f"{mod}.{cls}",)) for mod in mods
                   for cls in dir(importlib.import_module(mod)) if cls[:1].isupper()):
                continue
            last = dotted.rsplit(".", 1)[-1]
            if not any(re.search(rf"\b{re.escape(last)}\b", src) for src in sources):
                problems.append(f"{name}: not in {', '.join(mods)}")
    return sorted(set(problems))


def flag_uses(text):
    """[(flag, value, owners, any_of, where)]: every flag the README gives, with whose --help must take it."""
    have = lesson_files()
    uses = []
    for section, kind, unit_text in units(text):
        refs = lesson_refs(unit_text)
        low = unit_text.lower()
        for offset, span in spans(unit_text, kind):
            found = flags_in(span)
            if not found:
                continue
            before = [nums for pos, nums in refs if pos <= offset]
            run = re.search(r"-m\s+(tinygen[\w.]*)", span)
            if run and run.group(1) == BENCHMARK:
                owners, any_of = (BENCHMARK,), False
            elif LESSON_FILE.search(span) or before:
                m = LESSON_FILE.search(span)
                owners, any_of = ((m.group(1),) if m else before[-1]), False
            elif "every gan lesson" in low:
                owners, any_of = GAN_LESSONS, False
            elif "every lesson" in low or "common flags" in low:
                owners, any_of = tuple(have), False
            elif section.lower().startswith("benchmark") or BENCHMARK in unit_text:
                owners, any_of = (BENCHMARK,), False
            else:
                earlier = [nums for s, _, u in units(text)[:units(text).index((section, kind, unit_text))]
                           if s == section for _, nums in lesson_refs(u)]
                if earlier:
                    owners, any_of = earlier[-1], False
                else:
                    owners, any_of = tuple(have) + (BENCHMARK,), True
            owners = tuple(o for o in owners if o == BENCHMARK or o in have)
            uses += [(flag, value, owners, any_of, unit_text[:60]) for flag, value in found]
    return uses


def check_flags(text):
    """Every flag the README gives a lesson (or the benchmark) is in its --help."""
    uses = flag_uses(text)
    prefetch(o for _, _, owners, _, _ in uses for o in owners)
    problems = []
    for flag, value, owners, any_of, where in uses:
        if not owners:
            continue  # the lesson itself is missing: check_lessons reports it
        p = flag_problem(flag, value, owners, any_of)
        if p:
            problems.append(f"{p} (in {where!r}...)")
    return sorted(set(problems))


CHECKS = {"lessons": check_lessons, "paths": check_paths, "figures": check_figures,
          "modules": check_modules, "table": check_table_names, "flags": check_flags}


# ------------------------------------------------------------------ tests
@pytest.fixture(scope="module")
def readme():
    return read_readme()


@pytest.mark.parametrize("check", CHECKS)
def test_readme_names_only_what_exists(readme, check):
    problems = CHECKS[check](readme)
    assert not problems, "README.md:\n" + "\n".join(problems)


def test_the_parser_sees_the_readme(readme):
    """The checks are not vacuous: they find the commands, flags, lessons and pictures."""
    uses = flag_uses(readme)
    assert len(uses) >= 30, uses
    assert {"--dataset", "--resume", "--g-loss", "--torch-python"} <= {u[0] for u in uses}
    assert len(set(re.findall(LESSON_FILE, readme))) == len(lesson_files())  # every lesson is named
    assert len(re.findall(r"lessons/figures/", readme)) >= 20


PLANTED = [  # (category, what the README says, a renamed version)
    ("lessons", "lessons/16_wgan_gp.py", "lessons/16_wgan_gp2.py"),
    ("paths", "`tinygen/utils/gan_models.py`", "`tinygen/utils/gan_model.py`"),
    ("paths", "`tests/test_norm.py`", "`tests/test_norms.py`"),
    ("figures", "lessons/figures/19_loss_study.png", "lessons/figures/19_loss_studies.png"),
    ("modules", "-m tinygen.utils.benchmark", "-m tinygen.utils.benchmarks"),
    ("table", "`closing_scores`", "`closing_score`"),
    ("flags", "`--g-loss minimax`", "`--generator-loss minimax`"),
    ("flags", "--dataset folder --data-dir", "--dataset folders --data-dir"),
    ("flags", "`--torch-python`", "`--torch-interpreter`"),
]


@pytest.mark.parametrize("category, old, new", PLANTED, ids=[p[2] for p in PLANTED])
def test_planted_renames_are_caught(readme, category, old, new):
    assert old in readme, f"the README no longer says {old!r}: plant another name"
    assert not CHECKS[category](readme)
    problems = CHECKS[category](readme.replace(old, new, 1))
    key = new.strip("`").split()[-1] if category == "modules" else new.strip("`").split()[0]
    key = {"--dataset": "folders"}.get(key, key).rsplit("/", 1)[-1]
    assert any(key in p for p in problems), problems
