"""The ``art2music`` dispatcher and the argument parsing every subcommand shares."""

from __future__ import annotations

import argparse

import pytest

from art2music.cli import main, parse_arguments


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="art2music thing")
    parser.add_argument("input")
    parser.add_argument("--count", type=int, default=1)
    return parser


def test_parse_arguments_returns_the_namespace_or_argparse_exit_code_without_exiting(capsys):
    args = parse_arguments(_parser(), ["paintings", "--count", "3"])
    assert isinstance(args, argparse.Namespace) and args.input == "paintings" and args.count == 3
    assert parse_arguments(_parser(), ["--help"]) == 0
    assert "usage: art2music thing" in capsys.readouterr().out
    assert parse_arguments(_parser(), ["paintings", "--count", "many"]) == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err
    assert parse_arguments(_parser(), []) == 2  # the required input is missing


@pytest.mark.parametrize("command", ["render", "evaluate", "build-articaps", "demo-corpus"])
def test_every_subcommand_answers_help_with_0_and_a_bad_option_with_2(command, capsys):
    assert main([command, "--help"]) == 0
    assert "usage:" in capsys.readouterr().out
    assert main([command, "--no-such-option"]) == 2
    assert f"art2music {command}: error:" in capsys.readouterr().err
