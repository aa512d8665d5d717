"""A script's main(argv) run in this process, seen as a shell sees the script: its exit status and its stderr; and
the flags its --help lists first.

Cheaper than a subprocess by the seconds it takes each new Python to import torch; every script's
`if __name__ == '__main__'` block calls main() (sigmoid_vs_relu.py limits its BLAS threads first). An exception
other than SystemExit is not caught: it fails the test, as a traceback on stderr would. Warnings go to pytest's
summary, not to the stderr returned."""
import re


def run_main(main, argv, capsys):
    """(exit status, stderr) of `python script.py *argv`, as Python reports an uncaught SystemExit: a string code
    is printed to stderr with status 1, None is status 0."""
    capsys.readouterr()
    try:
        main(argv)
        code = 0
    except SystemExit as exit_info:
        code = exit_info.code
    stderr = capsys.readouterr().err
    if isinstance(code, str):
        return 1, stderr + code + '\n'
    return (0 if code is None else code), stderr


def help_text(parse_flags, capsys):
    """(what `--help` prints, the flags of its first section: those the script has outside an argument group)."""
    try:
        parse_flags(['--help'])
    except SystemExit:
        pass
    text = capsys.readouterr().out
    options = text[text.index('options:'):text.index('\n\n', text.index('options:'))]
    return text, set(re.findall(r'^  (-[-\w]+)', options, re.MULTILINE))
