"""The version-range reader (trainlint.versions) on small projects of our own in tmp folders."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from trainlint.versions import (
    conda_declarations,
    declarations_in,
    poetry_specifiers,
    project_range,
    range_of,
    search_folders,
)


def project(tmp_path, files: dict[str, str]):
    """A project folder (with `.git`, so the search stops there) holding `files`."""
    (tmp_path / ".git").mkdir(parents=True)
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def torch_range(folder, package="torch", at="train.py"):
    return project_range(package, str(folder / at))


def versions(found) -> list[str]:
    return [str(v) for v in found.versions]


# ---------------------------------------------------------------- pyproject.toml

def test_pyproject_dependencies_are_a_range_with_its_upper_bound(tmp_path):
    folder = project(tmp_path, {"pyproject.toml":
                                '[project]\ndependencies = ["numpy", "torch>=2.1,<2.6"]\n'})
    found = torch_range(folder)
    assert found.kind == "requirement" and found.known
    assert found.describe() == "torch >=2.1,<2.6 from pyproject.toml"
    assert versions(found)[0] == "2.1.0" and versions(found)[-1] == "2.5.1"
    assert found.series(found.below("2.6")) == "2.1-2.5" and not found.at_least("2.6")


def test_extras_and_groups_count_only_where_the_dependencies_do_not_name_the_package(tmp_path):
    folder = project(tmp_path, {"pyproject.toml": (
        '[project]\ndependencies = ["torch>=2.0"]\n'
        '[project.optional-dependencies]\ntest = ["torch==2.4.1"]\n'
        '[dependency-groups]\ndev = ["torch==2.5.1", {include-group = "test"}]\n')})
    assert torch_range(folder).text == ">=2.0"
    only_extras = project(tmp_path / "extras", {"pyproject.toml": (
        '[project]\ndependencies = ["numpy"]\n'
        '[project.optional-dependencies]\ngpu = ["torch>=2.3"]\n'
        '[dependency-groups]\ndev = ["torch<2.6"]\n')})
    found = torch_range(only_extras)
    assert found.text == ">=2.3,<2.6" and versions(found) == ["2.3.0", "2.3.1", "2.4.0", "2.4.1",
                                                              "2.5.0", "2.5.1"]


def test_extras_that_exclude_each_other_are_a_union(tmp_path):
    folder = project(tmp_path, {"pyproject.toml": (
        '[project]\nname = "x"\n[project.optional-dependencies]\n'
        'cu118 = ["torch==2.1.2"]\ncu124 = ["torch==2.5.1"]\n')})
    found = torch_range(folder)
    assert versions(found) == ["2.1.2", "2.5.1"]
    assert found.text == "==2.1.2 (pyproject.toml) or ==2.5.1 (pyproject.toml)"


def test_poetry_constraints(tmp_path):
    assert poetry_specifiers("^2.1") == [">=2.1,<3"]
    assert poetry_specifiers("^0.2.3") == [">=0.2.3,<0.3"]
    assert poetry_specifiers("~2.1.3") == [">=2.1.3,<2.2"]
    assert poetry_specifiers("2.1.*") == ["==2.1.*"]
    assert poetry_specifiers("2.1.0") == ["==2.1.0"]
    assert poetry_specifiers(">=2.1 <2.6") == [">=2.1,<2.6"]
    assert poetry_specifiers("*") == [""]
    assert poetry_specifiers("^1.13 || ^2.0") == [">=1.13,<2", ">=2.0,<3"]
    folder = project(tmp_path, {"pyproject.toml": (
        '[tool.poetry.dependencies]\npython = "^3.10"\n'
        'torch = {version = "~2.4", source = "pytorch"}\n'
        '[tool.poetry.group.dev.dependencies]\ntransformers = "^4.40"\n')})
    assert torch_range(folder).text == ">=2.4,<2.5"
    transformers = torch_range(folder, "transformers")
    assert transformers.text == ">=4.40,<5" and not transformers.at_least("5.0")


def test_dynamic_dependencies_from_a_file(tmp_path):
    folder = project(tmp_path, {
        "pyproject.toml": '[tool.setuptools.dynamic]\ndependencies = {file = ["deps/base.in"]}\n',
        "deps/base.in": "torch~=2.2.0\n"})
    assert torch_range(folder).text == "~=2.2.0"


# ---------------------------------------------------------------- setup.py / setup.cfg

def test_setup_py_is_read_from_its_syntax_tree_not_run(tmp_path):
    folder = project(tmp_path, {"setup.py": (
        "import sys\nfrom setuptools import setup\n"
        "sys.exit('never run me')\n"
        "BASE = ['numpy', 'torch>=2.2']\n"
        "setup(name='x', install_requires=BASE + ['transformers<5'],\n"
        "      extras_require={'gpu': ['deepspeed==0.14.0']})\n")})
    assert torch_range(folder).describe() == "torch >=2.2 from setup.py"
    assert torch_range(folder, "transformers").text == "<5"
    assert torch_range(folder, "deepspeed").text == "==0.14.0"


def test_setup_py_lists_computed_at_run_time_are_not_followed(tmp_path):
    folder = project(tmp_path, {"setup.py": (
        "from setuptools import setup\n"
        "setup(install_requires=open('requirements.txt').read().splitlines())\n")})
    assert not torch_range(folder).known


def test_setup_cfg(tmp_path):
    folder = project(tmp_path, {
        "setup.cfg": ("[metadata]\nname = x\n[options]\ninstall_requires =\n"
                      "    numpy\n    torch>=2.0,<2.4  # tested range\n"
                      "[options.extras_require]\nhf =\n    transformers>=4.41\n"
                      "lightning = file: requirements/pl.txt\n"),
        "requirements/pl.txt": "lightning>=2.2\n"})
    assert torch_range(folder).text == ">=2.0,<2.4"
    assert torch_range(folder, "transformers").text == ">=4.41"
    assert torch_range(folder, "lightning").text == ">=2.2"


# ---------------------------------------------------------------- requirements files

def test_requirements_with_includes_markers_comments_continuations_and_urls(tmp_path):
    folder = project(tmp_path, {
        "requirements.txt": ("# training\n-r requirements/base.txt\n"
                             "--constraint constraints.txt\n"
                             "transformers>=4.41 \\\n    ,<5  # not 5 yet\n"
                             "deepspeed==0.14.4 --hash=sha256:abc\n"
                             "--extra-index-url https://download.pytorch.org/whl/cu121\n"
                             "-e .\n"
                             "git+https://github.com/huggingface/accelerate#egg=accelerate\n"),
        "requirements/base.txt": "torch>=2.1; python_version >= '3.9'\nnumpy\n",
        "constraints.txt": "torch<2.6\n"})
    found = torch_range(folder)
    assert found.text == ">=2.1,<2.6"
    assert found.source == "requirements/base.txt and constraints.txt"
    assert torch_range(folder, "transformers").text == ">=4.41,<5"
    assert torch_range(folder, "deepspeed").text == "==0.14.4"
    assert not torch_range(folder, "accelerate").known  # a VCS URL names no version


def test_wheel_urls_and_local_versions(tmp_path):
    folder = project(tmp_path, {"requirements-cu118.txt": (
        "https://download.pytorch.org/whl/cu118/torch-2.0.1%2Bcu118-cp310-cp310-linux_x86_64.whl\n"
        "transformers==4.44.0+local\n")})
    assert torch_range(folder).text == "==2.0.1"
    assert torch_range(folder, "transformers").text == "==4.44.0"


def test_cpu_and_gpu_requirements_are_alternatives(tmp_path):
    folder = project(tmp_path, {"requirements-cpu.txt": "torch==2.1.0\n",
                                "requirements-gpu.txt": "torch==2.4.1\n"})
    assert versions(torch_range(folder)) == ["2.1.0", "2.4.1"]


def test_include_cycles_end(tmp_path):
    folder = project(tmp_path, {"requirements.txt": "-r requirements-dev.txt\ntorch>=2.2\n",
                                "requirements-dev.txt": "-r requirements.txt\n"})
    assert torch_range(folder).text == ">=2.2"


# ---------------------------------------------------------------- conda

def test_conda_match_specs():
    def spec(text):
        return [d.specifier for d in conda_declarations(text, "environment.yml")]

    assert spec("pytorch=2.1") == ["==2.1.*"]
    assert spec("pytorch==2.1.0=py3.10_cuda11.8_cudnn8.7.0_0") == ["==2.1.0"]
    assert spec("pytorch::pytorch>=2.0,<2.2") == [">=2.0,<2.2"]
    assert spec("pytorch 2.1.*") == ["==2.1.*"]
    assert spec("pytorch 2.1.0|2.2.0") == ["==2.1.0", "==2.2.0"]
    assert spec("pytorch-cuda=11.8") == []  # the CUDA runtime, not torch
    assert spec("pytorch[version='>=2.3']") == [">=2.3"]


def test_environment_yml_with_a_pip_section(tmp_path):
    folder = project(tmp_path, {
        "environment.yml": ("name: asr\nchannels: [pytorch, nvidia]\ndependencies:\n"
                            "  - python=3.10\n  - pytorch=2.1\n  - pytorch-cuda=11.8\n"
                            "  - pip\n  - pip:\n    - transformers>=4.40,<4.45\n"
                            "    - -r requirements-extra.txt\n"),
        "requirements-extra.txt": "accelerate==0.30.1\n"})
    found = torch_range(folder)
    assert found.describe() == "torch ==2.1.* from environment.yml"
    assert versions(found) == ["2.1.0", "2.1.1", "2.1.2"]
    assert torch_range(folder, "transformers").text == ">=4.40,<4.45"
    assert torch_range(folder, "accelerate").text == "==0.30.1"


# ---------------------------------------------------------------- lock files

@pytest.mark.parametrize("name", ["uv.lock", "poetry.lock", "pdm.lock"])
def test_a_lock_file_wins_over_the_declared_range(tmp_path, name):
    folder = project(tmp_path, {
        "pyproject.toml": '[project]\ndependencies = ["torch>=2.1"]\n',
        name: ('version = 1\n[[package]]\nname = "torch"\nversion = "2.5.1"\n'
               '[[package]]\nname = "numpy"\nversion = "2.0.0"\n')})
    found = torch_range(folder)
    assert found.kind == "lock" and versions(found) == ["2.5.1"]
    assert found.describe() == f"torch 2.5.1 locked in {name}"


def test_several_locked_versions_are_each_a_point(tmp_path):
    folder = project(tmp_path, {"uv.lock": (
        '[[package]]\nname = "torch"\nversion = "2.5.1"\n'
        '[[package]]\nname = "torch"\nversion = "2.7.1+cu126"\n')})
    assert torch_range(folder).text == "2.5.1 or 2.7.1"


def test_a_large_lock_file_is_read_at_the_tracked_packages_tables(tmp_path):
    """uv.lock: each `[[package]]` table naming a tracked package is parsed on its own (the
    whole of Megatron-LM's 1 MB lock took 0.45 s); sub-tables, wheels and a comment after the
    header are kept with their table; other packages' tables are not parsed."""
    other = ('[[package]]\nname = "numpy{i}"\nversion = "1.{i}"\nsource = {{ registry = "x" }}\n'
             'wheels = [\n    {{ url = "https://x/n{i}.whl", hash = "sha256:0" }},\n]\n\n'
             '[package.optional-dependencies]\ndev = [{{ name = "pytest" }}]\n\n')
    folder = project(tmp_path, {"uv.lock": (
        'version = 1\nrequires-python = ">=3.10"\n\n' + "".join(other.format(i=i) for i in range(300))
        + '[[package]]  # the one wanted\nname = "torch"\nversion = "2.7.1+cu126"\n'
          'dependencies = [{ name = "numpy1" }]\n\n[package.metadata]\nrequires-dist = []\n\n'
        + other.format(i=999) + '[[package]]\nname = "Transformers"\nversion = "4.57.0"\n')})
    assert versions(torch_range(folder)) == ["2.7.1"]
    assert versions(torch_range(folder, "transformers")) == ["4.57.0"]


def test_pipfile_lock(tmp_path):
    folder = project(tmp_path, {"Pipfile.lock": json.dumps(
        {"default": {"torch": {"version": "==2.3.1"}},
         "develop": {"transformers": {"version": "==4.46.3"}}})})
    assert versions(torch_range(folder)) == ["2.3.1"]
    assert versions(torch_range(folder, "transformers")) == ["4.46.3"]


# ---------------------------------------------------------------- ranges

def test_a_version_newer_than_the_release_table_still_counts(tmp_path):
    folder = project(tmp_path, {"requirements.txt": "torch==3.1.0\n"})
    found = torch_range(folder)
    assert versions(found) == ["3.1.0"] and found.at_least("2.6")


def test_a_bare_name_allows_every_release(tmp_path):
    folder = project(tmp_path, {"requirements.txt": "torch\n"})
    found = torch_range(folder)
    assert found.known and found.describe() == "torch (any version) from requirements.txt"
    assert versions(found)[0] == "1.13.0"


def test_no_requirement_is_unknown_and_holds_every_release(tmp_path):
    found = torch_range(project(tmp_path, {"requirements.txt": "numpy\n"}))
    assert not found.known and found.describe() == "no torch requirement found"
    assert found.below("2.6") and found.at_least("2.6")


def test_the_nearest_folder_naming_the_package_wins_up_to_the_repository(tmp_path):
    folder = project(tmp_path, {"requirements.txt": "torch>=2.2\n",
                                "examples/mnist/requirements.txt": "torch==2.4.1\n",
                                "examples/other/pyproject.toml": '[project]\nname = "o"\n'})
    assert torch_range(folder, at="examples/mnist/main.py").text == "==2.4.1"
    assert torch_range(folder, at="examples/other/main.py").text == ">=2.2"
    (tmp_path / "outside").mkdir()
    inner = tmp_path / "outside" / "repo"
    project(inner, {"train.py": ""})
    assert search_folders(str(inner / "src")) == [str(inner / "src"), str(inner)]


def test_without_a_repository_the_search_stops_at_the_project(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch==2.0.0\n", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "setup.cfg").write_text("[metadata]\nname = p\n", encoding="utf-8")
    assert search_folders(str(tmp_path / "pkg" / "src"))[-1] == str(tmp_path / "pkg")
    assert not project_range("torch", str(tmp_path / "pkg" / "src" / "train.py")).known


def test_a_changed_file_is_read_again(tmp_path):
    folder = project(tmp_path, {"requirements.txt": "torch>=2.1\n"})
    assert torch_range(folder).text == ">=2.1"
    (folder / "requirements.txt").write_text("torch>=2.6,<2.8\n", encoding="utf-8")
    assert torch_range(folder).text == ">=2.6,<2.8"


def test_range_of_ignores_invalid_specifiers():
    from trainlint.versions import Declaration

    found = range_of("torch", [Declaration("torch", ">=2.x", "a"),
                               Declaration("torch", ">=2.6", "b")])
    assert found.text == ">=2.6" and found.source == "b"


# ---------------------------------------------------------------- bad input

MALFORMED = {
    "pyproject.toml": ['project = 5\n', '[project]\ndependencies = [1, {a = 2}, "torch>="]\n',
                       '[project\ntorch', 'dependency-groups = "torch"\n',
                       '[tool.poetry.dependencies]\ntorch = [1, {version = 3}]\n',
                       '[project.optional-dependencies]\nx = "torch"\n'],
    "setup.py": ["setup(install_requires=[\n", "setup(install_requires=torch)\n",
                 "setup(extras_require=['torch'])\n", "x = x\nsetup(install_requires=x)\n"],
    "setup.cfg": ["[options\ninstall_requires = torch", "[options]\ninstall_requires = file:\n"],
    "requirements.txt": ["torch >= = 2\n", "-r\n", "-r missing.txt\ntorch[\n", "\\\n",
                         "torch==2.1 ; python_version >\n", "https://x/torch-bad.whl\n"],
    "environment.yml": ["- torch\n", "dependencies: 5\n", "dependencies:\n  - {pip: 3}\n  - 7\n",
                        "a: [\n", "dependencies: [pytorch=, 'pytorch[version=']\n"],
    "uv.lock": ["package = 3\n", "[[package]]\nname = 5\nversion = [1]\n", "[[package\n"],
    "Pipfile.lock": ["[1, 2]", "{torch", '{"default": {"torch": 5}}', '{"default": []}'],
}


@pytest.mark.parametrize("name,text", [(n, t) for n, texts in MALFORMED.items() for t in texts])
def test_malformed_sources_never_crash(tmp_path, name, text):
    folder = project(tmp_path, {name: text + "\n# torch transformers\n"})
    for package in ("torch", "transformers"):
        torch_range(folder, package)  # no exception; whatever could be read is used
    declarations_in(str(folder))


def test_binary_and_undecodable_sources_never_crash(tmp_path):
    folder = project(tmp_path, {})
    (folder / "requirements.txt").write_bytes(b"\xff\xfe\x00torch\x00==\x002.1")
    (folder / "pyproject.toml").write_bytes(b"\x89PNG torch \x00\x01")
    assert not torch_range(folder).known


def test_a_plain_config_run_does_not_import_packaging(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text("optim: adam\noptim_conf:\n  lr: 0.002\nmax_epoch: 40\nbatch_bins: 100\n")
    code = ("import sys, trainlint.cli; trainlint.cli.main([sys.argv[1]]); "
            "print('packaging' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True,
                         text=True, timeout=60, env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr


def test_setup_py_in_the_hugging_face_style_reads_its_table_of_requirements(tmp_path):
    """`_deps` lists the requirement lines, `deps` (built with a regex at run time) maps each
    name to its line, and install_requires looks names up in it."""
    folder = project(tmp_path, {"setup.py": (
        "import re\nfrom setuptools import setup\n"
        "_deps = ['accelerate>=0.30', 'transformers>=4.53.3', 'torch>=2.4']\n"
        "deps = {b: a for a, b in (re.findall(r'^(([^!=<>~ ]+)(?:[!=<>~ ].*)?$)', x)[0] "
        "for x in _deps)}\n"
        "install_requires = [deps['accelerate'], deps['transformers'], deps['missing']]\n"
        "setup(install_requires=install_requires, extras_require={'torch': [deps['torch']]})\n")})
    assert torch_range(folder, "transformers").describe() == "transformers >=4.53.3 from setup.py"
    assert torch_range(folder, "accelerate").text == ">=0.30"
    assert torch_range(folder).text == ">=2.4"
