"""pyproject.toml (pip) and environment.yml (conda) must install the same packages."""
import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pip_section_of_environment_yml() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("  - pip:") + 1
    return [re.sub(r"^\s*-\s*", "", line) for line in lines[start:] if line.strip().startswith("- ")]


def test_environment_yml_and_pyproject_list_the_same_packages():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    conda = pip_section_of_environment_yml()
    assert sorted(conda) == sorted(pyproject), (
        f"environment.yml pip section {sorted(conda)} differs from pyproject.toml {sorted(pyproject)}"
    )


def test_torch_is_pinned_to_the_cpu_wheel_release():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in pyproject
