"""README.md cannot lie: its Python runs, its commands and options exist, its make targets and files exist.

Everything is read from the README at test time, so an edit that adds a command, an option, a file name or a
shape comment is checked without touching this file. Commands run from a temporary folder outside the
checkout, offline (``HF_HUB_OFFLINE=1``), against the shipped demo weights.
"""

from __future__ import annotations

import ast
import csv
import inspect
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from art2music.cli import SUBCOMMANDS

CHECKOUT = Path(__file__).resolve().parents[1]
README_TEXT = (CHECKOUT / "README.md").read_text(encoding="utf-8")
MAKEFILE_TEXT = (CHECKOUT / "Makefile").read_text(encoding="utf-8")
IMAGE_NAME = re.compile(r"[\"']([^\"'\n]+\.(?:jpe?g|png|gif|bmp|webp|tiff?))[\"']", re.IGNORECASE)
OPTION = re.compile(r"--[A-Za-z][\w.-]*")
PLACEHOLDER = "…"
# repository files the README cites; datasets/demo/ and outputs/ are written by make targets, not shipped
CITED_FILE = re.compile(r"\b(?:art2music|bench|configs|datasets|examples|scripts|vocoder)/"
                        r"[\w./*-]*\.(?:yaml|md|json|csv)\b")
GENERATED_PREFIXES = ("datasets/demo/",)


# ---------------------------------------------------------------------------------------------- reading the README
def fenced_blocks(language: str) -> list[str]:
    """The bodies of the README's ```<language> blocks, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", README_TEXT, flags=re.MULTILINE | re.DOTALL)


def inline_spans() -> list[str]:
    """The README's `inline code` spans outside fenced blocks."""
    prose = re.sub(r"^```.*?^```", "", README_TEXT, flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"`([^`\n]+)`", prose)


def command_tokens(line: str) -> list[str]:
    """A shell line as words, without comments and with ``[optional]`` brackets dropped."""
    words = [word.strip("[]") for word in shlex.split(line, comments=True)]
    return [word for word in words if word]


def shell_commands() -> list[list[str]]:
    """Every command of the ```bash blocks, continuation lines joined."""
    commands = []
    for block in fenced_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            tokens = command_tokens(line)
            if tokens:
                commands.append(tokens)
    return commands


def inline_commands() -> list[list[str]]:
    """Inline spans that are commands of this project (``make …``, ``art2music …``, ``python -m art2music …``)."""
    commands = []
    for span in inline_spans():
        if re.match(r"(make|art2music|python -m art2music)( |$)", span):
            commands.append(command_tokens(span))
    return commands


def art2music_arguments(tokens: list[str]) -> list[str] | None:
    """The arguments after ``art2music`` / ``python -m art2music``, or None for another program."""
    if tokens[0] == "art2music":
        return tokens[1:]
    if tokens[:3] == ["python", "-m", "art2music"]:
        return tokens[3:]
    return None


def help_argv(arguments: list[str]) -> tuple[str, ...]:
    """The help call that documents ``arguments``' options: the subcommand and its leading positionals
    (``fit``, ``export CKPT``, ``INPUT``) followed by ``--help``."""
    positionals = []
    for word in arguments[1:]:
        if word.startswith("-"):
            break
        positionals.append(word)
    return (arguments[0], *positionals, "--help")


def options_of(tokens: list[str]) -> list[str]:
    return [word.split("=", 1)[0] for word in tokens if OPTION.fullmatch(word.split("=", 1)[0])]


def accepts(help_text: str, option: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(option)}(?![\w.-])", help_text) is not None


# ---------------------------------------------------------------------------------------------- reading the Makefile
def make_recipes() -> dict[str, list[str]]:
    """Makefile target -> its recipe lines (continuations joined)."""
    recipes: dict[str, list[str]] = {}
    target = None
    for line in MAKEFILE_TEXT.replace("\\\n", " ").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+):(?!=)", line)
        if match:
            target = match.group(1)
            recipes[target] = []
        elif line.startswith("\t") and target is not None:
            recipes[target].append(line.strip())
        elif line.strip() and not line.startswith("\t"):
            target = None
    return recipes


def documented_make_targets() -> set[str]:
    """The targets ``make help`` lists (those with a ``## `` description)."""
    return set(re.findall(r"^([A-Za-z0-9_-]+):.*## ", MAKEFILE_TEXT, flags=re.MULTILINE))


def recipe_cli_arguments(target: str) -> list[str]:
    """The ``$(CLI) …`` arguments of a make target's recipe."""
    for line in make_recipes().get(target, []):
        if line.startswith("$(CLI) "):
            return line.split()[1:]
    raise AssertionError(f"README passes ARGS to `make {target}`, whose recipe does not run $(CLI) (the art2music "
                         f"command); teach tests/test_readme.py which command reads those options")


def make_parts(tokens: list[str]) -> tuple[list[str], dict[str, str]]:
    """``make`` words -> (targets, VARIABLE=value assignments)."""
    targets, assignments = [], {}
    for word in tokens[1:]:
        if "=" in word:
            name, value = word.split("=", 1)
            assignments[name] = value
        elif not word.startswith("-"):
            targets.append(word)
    return targets, assignments


def readme_make_commands() -> list[list[str]]:
    return [tokens for tokens in shell_commands() + inline_commands() if tokens[0] == "make"]


def readme_art2music_commands() -> list[list[str]]:
    found = []
    for tokens in shell_commands() + inline_commands():
        arguments = art2music_arguments(tokens)
        if arguments and not arguments[0].startswith("-"):
            found.append(arguments)
    return found


def make_args_commands() -> list[tuple[str, list[str], list[str]]]:
    """(target, recipe's art2music arguments, options given through ARGS) for every README ``make … ARGS=…``."""
    found = []
    for tokens in readme_make_commands():
        targets, assignments = make_parts(tokens)
        args = assignments.get("ARGS", "")
        if args and PLACEHOLDER not in args:
            for target in targets:
                found.append((target, recipe_cli_arguments(target), options_of(shlex.split(args))))
    return found


# ---------------------------------------------------------------------------------------------- running things
def subprocess_env() -> dict[str, str]:
    """The environment for child processes: this checkout first on the path, offline hub, wide help text."""
    path = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "COLUMNS": "200",
            "TOKENIZERS_PARALLELISM": "false"}


def art2music_command() -> list[str]:
    """The installed ``art2music`` console script beside this interpreter, else ``python -m art2music``."""
    script = Path(sys.executable).with_name("art2music")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "art2music"]


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=subprocess_env(), capture_output=True, text=True, timeout=timeout)


HELP_HARNESS = """
import contextlib, io, json, sys
from art2music.cli import main
calls = json.loads(open(sys.argv[1], encoding="utf-8").read())
output = sys.argv[2]
sys.argv = sys.argv[:1]  # LightningCLI warns when it is given args and sys.argv holds some too
answers = []
for argv in calls:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    answers.append({"argv": argv, "code": code, "out": out.getvalue(), "err": err.getvalue()})
open(output, "w", encoding="utf-8").write(json.dumps(answers))
"""


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A working folder outside the checkout."""
    folder = tmp_path_factory.mktemp("readme")
    assert CHECKOUT not in folder.parents
    return folder


@pytest.fixture(scope="module")
def help_texts(outside) -> dict[tuple[str, ...], dict]:
    """``art2music <argv> --help`` answers (code, out, err) for every subcommand and every help call the README's
    commands and make targets need, all run in one process from outside the checkout."""
    calls = {(name, "--help") for name in SUBCOMMANDS}
    calls |= {help_argv(arguments) for arguments in readme_art2music_commands()}
    calls |= {help_argv(arguments) for _, arguments, _ in make_args_commands()}
    calls |= {help_argv(recipe_cli_arguments(target)) for target in readme_make_targets() & cli_make_targets()}
    request, answer = outside / "help-calls.json", outside / "help-answers.json"
    request.write_text(json.dumps(sorted(calls)), encoding="utf-8")
    result = run([sys.executable, "-c", HELP_HARNESS, str(request), str(answer)], cwd=outside)
    assert result.returncode == 0, result.stderr
    return {tuple(item["argv"]): item for item in json.loads(answer.read_text(encoding="utf-8"))}


def readme_make_targets() -> set[str]:
    return {target for tokens in readme_make_commands() for target in make_parts(tokens)[0]}


def cli_make_targets() -> set[str]:
    return {target for target, lines in make_recipes().items() if any(line.startswith("$(CLI) ") for line in lines)}


# ---------------------------------------------------------------------------------------------- the Python blocks
@dataclass
class Claim:
    """A comment in a Python block about a variable's value, checked right after the line it follows."""

    key: str
    name: str
    text: str
    after_line: int


def block_claims(block: str) -> list[Claim]:
    """``x = …  # (1, 80, frames)`` and ``# x: numpy float32 …`` comments in a block."""
    comments = {token.start[0]: (token.string, token.line.strip().startswith("#"))
                for token in tokenize.generate_tokens(io.StringIO(block).readline) if token.type == tokenize.COMMENT}
    claims = []
    for statement in ast.parse(block).body:
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name) and statement.end_lineno in comments
                and not comments[statement.end_lineno][1]):
            name = statement.targets[0].id
            claims.append(Claim(f"{name}@{statement.end_lineno}", name, comments[statement.end_lineno][0],
                                statement.end_lineno))
    for line_number, (text, whole_line) in comments.items():
        match = re.match(r"#\s*([A-Za-z_]\w*)\s*:", text)
        if whole_line and match:
            claims.append(Claim(f"{match.group(1)}@{line_number}", match.group(1), text, line_number))
    return claims


RECORDER = """
import json as _json
import numpy as _np
_records = {}

def _record(key, value):
    if not hasattr(value, "shape"):  # not an array: only its kind can be checked
        _records[key] = {"type": type(value).__module__, "shape": None, "dtype": None, "min": None, "max": None}
        return
    if hasattr(value, "detach"):
        value = value.detach().float().cpu().numpy() if value.is_floating_point() else value.cpu().numpy()
    array = _np.asarray(value)
    _records[key] = {"type": type(value).__module__, "shape": list(array.shape), "dtype": str(array.dtype),
                     "min": float(array.min()) if array.size else None,
                     "max": float(array.max()) if array.size else None}
"""

REPORTER = """
if "pipe" in globals():
    _records["pipe"] = {"sample_rate": pipe.sample_rate, "frames": pipe.frames, "hop": pipe.mel_config.hop_length}
open("records.json", "w", encoding="utf-8").write(_json.dumps(_records))
"""


def instrumented(block: str, claims: list[Claim]) -> str:
    """The block with a ``_record(key, name)`` line after each claimed line, between a recorder and a reporter."""
    lines = block.splitlines()
    for claim in sorted(claims, key=lambda claim: claim.after_line, reverse=True):
        lines.insert(claim.after_line, f"_record({claim.key!r}, {claim.name})")
    return RECORDER + "\n".join(lines) + "\n" + REPORTER


def make_image(path: Path, seed: int) -> None:
    """A small real picture (a colour gradient with noise) in the format the file name says."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, 96, dtype=np.float32)
    pixels = np.stack([np.tile(ramp, (64, 1)), np.tile(ramp[:64, None], (1, 96)), rng.uniform(0, 255, (64, 96))], -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)


def shape_of(claim_text: str, symbols: dict[str, int]) -> list[int] | None:
    """The shape a comment states, e.g. ``# (1, frames * 256)``, evaluated with the pipeline's sizes."""
    match = re.match(r"#\s*(?:[A-Za-z_]\w*\s*:\s*)?\(([^)]*)\)", claim_text)
    if not match:
        return None
    shape = []
    for part in filter(None, (part.strip() for part in match.group(1).split(","))):
        expression = ast.parse(part, mode="eval")
        unknown = {node.id for node in ast.walk(expression) if isinstance(node, ast.Name)} - set(symbols)
        assert not unknown, f"README shape comment {claim_text!r} uses {sorted(unknown)}; known: {sorted(symbols)}"
        shape.append(eval(compile(expression, "<shape>", "eval"), {"__builtins__": {}}, dict(symbols)))
    return shape


def check_claim(claim: Claim, record: dict, pipe: dict) -> None:
    """Check what a comment says about a value: shape, dtype, numpy, range, sample rate."""
    where = f"README Python block, {claim.name!r} ({claim.text!r})"
    symbols = {"frames": pipe["frames"], "samples": pipe["frames"] * pipe["hop"]} if pipe else {}
    shape = shape_of(claim.text, symbols)
    if shape is not None:
        assert record["shape"] == shape, f"{where}: the shape is {record['shape']}"
    if "float32" in claim.text:
        assert record["dtype"] == "float32", f"{where}: the dtype is {record['dtype']}"
    if "numpy" in claim.text:
        assert record["type"] == "numpy", f"{where}: the value is a {record['type']} object"
    if "[-1, 1]" in claim.text:
        assert -1.0 <= record["min"] and record["max"] <= 1.0, f"{where}: the range is {record['min']}..{record['max']}"
    for rate in re.findall(r"(\d+) Hz", claim.text):
        assert pipe, f"{where}: a sample rate is claimed, but the block has no audio pipeline named pipe"
        assert pipe["sample_rate"] == int(rate), f"{where}: pipe.sample_rate is {pipe['sample_rate']}"


@pytest.mark.parametrize("index", range(len(fenced_blocks("python"))))
def test_readme_python_block_runs_against_the_demo_weights(index, tmp_path):
    block = fenced_blocks("python")[index]
    work = tmp_path / "work"
    work.mkdir()
    for seed, name in enumerate(sorted(set(IMAGE_NAME.findall(block)))):
        make_image(work / name, seed)
    claims = block_claims(block)
    script = tmp_path / "readme_block.py"
    script.write_text(instrumented(block, claims), encoding="utf-8")
    result = run([sys.executable, str(script)], cwd=work)
    assert result.returncode == 0, f"README Python block {index + 1} failed:\n{block}\n{result.stderr[-3000:]}"
    records = json.loads((work / "records.json").read_text(encoding="utf-8"))
    for claim in claims:
        check_claim(claim, records[claim.key], records.get("pipe"))
    for folder in re.findall(r"save_pretrained\(\s*[\"']([^\"']+)[\"']", block):
        saved = work / folder
        assert (saved / "pipeline.json").is_file(), f"save_pretrained({folder!r}) wrote no pipeline.json"
        for stage in ("stage1", "vocoder"):
            assert {"config.json", "model.safetensors"} <= {path.name for path in (saved / stage).iterdir()}


def test_the_readme_shows_the_package_level_import():
    assert any("from art2music import Art2Music" in block for block in fenced_blocks("python"))


def readme_namespace() -> dict:
    """The names the README's Python imports (blocks and inline ``from … import …``) bring in."""
    namespace: dict = {}
    sources = fenced_blocks("python") + [span for span in inline_spans() if re.match(r"(from|import) \w", span)]
    for source in sources:
        for node in ast.parse(source).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                exec(compile(ast.Module([node], []), "README.md", "exec"), namespace)
    return namespace


def resolve(node: ast.expr, namespace: dict):
    if isinstance(node, ast.Name):
        return namespace[node.id]
    if isinstance(node, ast.Attribute):
        return getattr(resolve(node.value, namespace), node.attr)
    raise KeyError(ast.dump(node))


def test_readme_inline_python_imports_work_and_its_calls_use_real_keywords():
    namespace = readme_namespace()  # fails here if an inline import is wrong
    checked = 0
    for span in inline_spans():
        try:
            tree = ast.parse(span, mode="eval")
        except SyntaxError:
            continue
        for expression in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            checked += check_call(span, expression, namespace)
    assert checked >= 1, "the README's inline calls (e.g. `Art2Music.from_pretrained(..., …)`) were not found"


def check_call(span: str, expression: ast.Call, namespace: dict) -> int:
    """Check that a call the README shows names a real function and real keywords; 1 if checked, 0 if the
    callee is nothing the README imports."""
    try:
        function = resolve(expression.func, namespace)
    except AttributeError as error:
        raise AssertionError(f"README names `{span}`, which does not exist: {error}") from error
    except KeyError:
        return 0  # a call of something the README never imports
    parameters = inspect.signature(function).parameters
    for keyword in expression.keywords:
        assert keyword.arg in parameters, f"README's `{span}`: {function.__qualname__} has no {keyword.arg!r}"
    return 1


# ---------------------------------------------------------------------------------------------- commands and options
def test_every_subcommand_answers_help_from_outside_the_checkout(help_texts):
    for argv, answer in help_texts.items():
        assert answer["code"] == 0, f"art2music {' '.join(argv)} exited {answer['code']}: {answer['err'][-2000:]}"
        assert "usage" in answer["out"].lower(), f"art2music {' '.join(argv)} printed no usage"


def test_readme_art2music_commands_name_real_subcommands_and_options(help_texts):
    commands = readme_art2music_commands()
    assert commands, "no art2music commands found in the README"
    for arguments in commands:
        line = "art2music " + " ".join(arguments)
        assert arguments[0] in SUBCOMMANDS, f"README: `{line}`: there is no subcommand {arguments[0]!r}"
        help_text = help_texts[help_argv(arguments)]["out"]
        for option in options_of(arguments):
            assert accepts(help_text, option), f"README: `{line}`: {' '.join(help_argv(arguments))} has no {option}"


def test_readme_options_in_prose_belong_to_some_subcommand(help_texts):
    """A bare `--option` in the text (e.g. `--vocoder-precision float32`) must exist in at least one subcommand."""
    all_help = "\n".join(answer["out"] for answer in help_texts.values())
    for span in inline_spans():
        if span.startswith("--"):
            for option in options_of(command_tokens(span)):
                assert accepts(all_help, option), f"README mentions `{span}`, but no art2music subcommand has {option}"


def test_makefile_recipes_and_readme_make_args_use_real_options(help_texts):
    for target in readme_make_targets() & cli_make_targets():
        arguments = recipe_cli_arguments(target)
        help_text = help_texts[help_argv(arguments)]["out"]
        for option in options_of(arguments):
            assert accepts(help_text, option), f"Makefile `{target}` passes {option}, unknown to {arguments[0]}"
    for target, arguments, options in make_args_commands():
        help_text = help_texts[help_argv(arguments)]["out"]
        for option in options:
            assert accepts(help_text, option), f"README: `make {target} ARGS=…` passes {option}, unknown there"


def test_art2music_help_and_python_m_art2music_list_every_subcommand(outside):
    console = run(art2music_command() + ["--help"], cwd=outside, timeout=60)
    module = run([sys.executable, "-m", "art2music", "--help"], cwd=outside, timeout=60)
    assert console.returncode == 0 and module.returncode == 0, console.stderr + module.stderr
    assert console.stdout == module.stdout  # README: `python -m art2music` is the same
    for name in SUBCOMMANDS:
        assert name in console.stdout


def test_readme_demo_render_writes_the_gallery_and_a_wav_per_painting(outside):
    """What `make demo` runs: render the bundled collection with the demo weights."""
    demo_recipe = recipe_cli_arguments("demo")
    assert demo_recipe[:2] == ["render", "examples/collection/collection.csv"], demo_recipe
    collection = CHECKOUT / demo_recipe[1]
    out = outside / "demo"
    result = run(art2music_command() + ["render", str(collection), "--out", str(out), "--model", "demo",
                                        "--no-progress"], cwd=outside)
    assert result.returncode == 0, result.stderr[-3000:]
    assert str(out / "index.html") in result.stderr  # README: `make demo` prints where its gallery is
    with collection.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    items = json.loads((out / "results.json").read_text(encoding="utf-8"))["items"]
    assert (out / "index.html").is_file() and len(items) == len(rows) > 0
    for item in items:
        assert item["status"] == "ok", item
        assert (out / "audio" / f"{item['id']}.wav").stat().st_size > 1000, item
        assert (out / "mel" / f"{item['id']}.png").is_file(), item


# ---------------------------------------------------------------------------------------------- make and files
def test_every_make_target_in_the_readme_exists_and_make_help_lists_it():
    targets = readme_make_targets()
    assert {"install", "demo", "test", "help"} <= targets
    missing = targets - documented_make_targets()
    assert not missing, f"README names make targets the Makefile does not document: {sorted(missing)}"
    for tokens in readme_make_commands():
        for name, value in make_parts(tokens)[1].items():
            if name == "CONFIG" and PLACEHOLDER not in value:
                assert (CHECKOUT / value).is_file(), f"README: `{' '.join(tokens)}`: {value} does not exist"
    if shutil.which("make") is None:
        pytest.skip("`make` is not installed; the Makefile's targets were checked from its text")
    result = subprocess.run(["make", "--no-print-directory", "help"], cwd=CHECKOUT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    listed = set(re.findall(r"^\s*(?:\x1b\[[0-9;]*m)?([A-Za-z0-9_-]+)", result.stdout, flags=re.MULTILINE))
    assert targets <= listed, f"`make help` does not list {sorted(targets - listed)}"


def test_files_the_readme_cites_exist():
    cited = set(CITED_FILE.findall(README_TEXT))
    for tokens in shell_commands():
        cited |= {word.split("=", 1)[-1] for word in tokens if word.endswith(".yaml")}
    assert "configs/stage1.yaml" in cited
    for path in sorted(cited):
        if not path.startswith(GENERATED_PREFIXES):
            assert list(CHECKOUT.glob(path)), f"README cites {path}, which is not in the checkout"
