"""Unit tests for ``_dockerfile_parser``: one focused test per construct.

Expected values were taken from BuildKit's own parser (the PyPI ``dockerfile``
binding); ``test_parser_differential.py`` re-checks them against the binding.
"""
from __future__ import annotations

import pytest
from ansible_collections.refarch.containers.plugins.module_utils._dockerfile_parser import (
    KNOWN_INSTRUCTIONS,
    parse,
    parse_bytes,
)

FIELDS = ("cmd", "sub_cmd", "json", "original", "start_line", "end_line", "flags", "value", "heredocs")


def instrs(text: str) -> list:
    return parse(text)["instructions"]


def one(text: str) -> dict:
    result = instrs(text)
    assert len(result) == 1, result
    return result[0]


def codes(text: str) -> list:
    return [p["code"] for p in parse(text)["problems"]]


# --- output shape ------------------------------------------------------------


def test_result_shape_and_instruction_fields():
    result = parse("FROM node:20\n")
    assert set(result) == {"directives", "escape", "instructions", "comments", "problems"}
    assert result["directives"] == {"syntax": None, "escape": "\\", "check": None}
    assert result["escape"] == "\\"
    ins = result["instructions"][0]
    assert tuple(ins) == FIELDS
    assert ins == {"cmd": "FROM", "sub_cmd": None, "json": False, "original": "FROM node:20", "start_line": 1,
                   "end_line": 1, "flags": [], "value": ["node:20"], "heredocs": []}
    assert result["problems"] == []


def test_known_instructions_match_buildkit_list():
    assert KNOWN_INSTRUCTIONS == {"add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from",
                                  "healthcheck", "label", "maintainer", "onbuild", "run", "shell", "stopsignal",
                                  "user", "volume", "workdir"}


# --- keywords ----------------------------------------------------------------


def test_keywords_case_insensitive_cmd_as_written():
    ins = one("run  echo hi")
    assert ins["cmd"] == "run"
    assert ins["value"] == ["echo hi"]
    assert one("CoPy a b")["value"] == ["a", "b"]


def test_unknown_word_is_kept_with_problem():
    result = parse("FROM a\ncd /app\n")
    cd = result["instructions"][1]
    assert (cd["cmd"], cd["value"], cd["start_line"]) == ("cd", [""], 2)
    assert [(p["code"], p["line"]) for p in result["problems"]] == [("unknown_instruction", 2)]


# --- lines, continuations, comments -----------------------------------------


def test_continuation_joins_and_keeps_span():
    ins = one("RUN echo hi \\\n  && ls")
    assert ins["original"] == "RUN echo hi   && ls"
    assert (ins["start_line"], ins["end_line"]) == (1, 2)


def test_continuation_trailing_blanks_after_escape():
    assert one("RUN a \\ \t\nb")["original"] == "RUN a b"


def test_escaped_escape_is_not_a_continuation():
    result = instrs("RUN a\\\\\nRUN b")
    assert [i["original"] for i in result] == ["RUN a\\\\", "RUN b"]
    assert instrs("RUN a\\\\\\\nb")[0]["original"] == "RUN a\\\\\\"


def test_comments_and_blank_lines_inside_continuation_are_dropped():
    ins = one("RUN a \\\n\n  \n# c\n  # d\nb")
    assert ins["original"] == "RUN a b"
    assert (ins["start_line"], ins["end_line"]) == (1, 6)


def test_comment_ending_in_escape_does_not_continue():
    assert one("RUN a \\\n# c \\\nb")["original"] == "RUN a b"


def test_comments_collected_with_line_numbers():
    result = parse("# syntax=docker/dockerfile:1\nFROM a\n  # hadolint ignore=DL3002  \nRUN a \\\n# inside\n b\n")
    assert result["comments"] == [
        {"line": 1, "text": "# syntax=docker/dockerfile:1"},
        {"line": 3, "text": "# hadolint ignore=DL3002"},
        {"line": 5, "text": "# inside"},
    ]


def test_heredoc_body_lines_are_not_comments():
    result = parse("FROM a\nRUN <<EOF\n# not a comment\nEOF\n")
    assert result["comments"] == []
    assert result["instructions"][1]["heredocs"][0]["content"] == "# not a comment\n"


def test_leading_whitespace_dropped_trailing_kept_in_original():
    ins = one("  RUN   a  ")
    assert ins["original"] == "RUN   a  "
    assert ins["value"] == ["a"]


def test_whitespace_only_lines_skipped_and_line_numbers_kept():
    assert [(i["cmd"], i["start_line"]) for i in instrs(" \t \n\nRUN a\n \t\n")] == [("RUN", 3)]


def test_crlf_line_endings():
    result = instrs("FROM a\r\nRUN a \\\r\n b\r\n")
    assert [i["original"] for i in result] == ["FROM a", "RUN a  b"]
    assert one("RUN a\r\r\nRUN b".split("\n", maxsplit=1)[0])["original"] == "RUN a"


def test_lone_cr_is_not_a_line_break():
    assert one("RUN a\rRUN b")["value"] == ["a\rRUN b"]


def test_bom_is_ignored():
    assert one("\ufeffRUN a")["cmd"] == "RUN"
    result = parse_bytes(b"\xef\xbb\xbf# escape=`\nRUN a `\n b")
    assert result["escape"] == "`"
    assert result["instructions"][0]["original"] == "RUN a  b"


def test_line_with_only_escape_gives_empty_keyword():
    ins = one("\\\n")
    assert ins["cmd"] is None and ins["original"] is None and ins["value"] == [""]


# --- parser directives -------------------------------------------------------


def test_escape_directive_backtick_windows_style():
    result = parse("# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir c:\\ `\n  && echo done\n")
    assert result["escape"] == "`"
    assert result["directives"]["escape"] == "`"
    run = result["instructions"][1]
    assert run["original"] == "RUN dir c:\\   && echo done"
    assert (run["start_line"], run["end_line"]) == (3, 4)


def test_backtick_escape_makes_backslash_ordinary():
    assert [i["original"] for i in instrs("# escape=`\nRUN a \\\nRUN b")] == ["RUN a \\", "RUN b"]


def test_directive_spelling_variants():
    assert parse("  #  ESCAPE  =  `  \nRUN a")["escape"] == "`"
    assert parse("#escape=`\nRUN a")["escape"] == "`"
    assert parse("# escape =`\nRUN a")["escape"] == "`"


def test_syntax_directive_then_escape():
    result = parse("# syntax=docker/dockerfile:1\n# escape=`\nRUN a `\n b")
    assert result["directives"] == {"syntax": "docker/dockerfile:1", "escape": "`", "check": None}
    assert result["instructions"][0]["original"] == "RUN a  b"


@pytest.mark.parametrize("before", ["\n", "# foo\n", "# foo=bar\n", "#\n", "RUN x\n"])
def test_directive_only_at_top(before):
    result = parse(before + "# escape=`\nRUN a `\n b")
    assert result["escape"] == "\\"
    assert result["instructions"][-1]["cmd"] == "b"


def test_check_directive_recorded_but_ends_header():
    # the oracle's BuildKit does not know "check": a later escape directive is ignored
    result = parse("# check=skip=all\n# escape=`\nRUN a `\n b")
    assert result["directives"]["check"] == "skip=all"
    assert result["escape"] == "\\"


@pytest.mark.parametrize("text", ["# escape=x\nRUN a", "# escape=` x\nRUN a", "# escape=`\n# escape=`\nRUN a",
                                  "# syntax=a\n# syntax=b\nRUN a"])
def test_invalid_directive_is_a_problem(text):
    result = parse(text)
    assert "invalid_directive" in [p["code"] for p in result["problems"]]
    assert result["instructions"][0]["cmd"] == "RUN"


# --- flags -------------------------------------------------------------------


def test_flags_common():
    ins = one("COPY --chmod=755 --link --from=build --chown=node:node a b")
    assert ins["flags"] == ["--chmod=755", "--link", "--from=build", "--chown=node:node"]
    assert ins["value"] == ["a", "b"]
    run = one("RUN --mount=type=cache,target=/root/.npm --network=none --security=insecure npm ci")
    assert run["flags"] == ["--mount=type=cache,target=/root/.npm", "--network=none", "--security=insecure"]
    assert run["value"] == ["npm ci"]
    assert one("FROM --platform=$BUILDPLATFORM node AS b")["flags"] == ["--platform=$BUILDPLATFORM"]


def test_flags_quotes_escapes_and_terminator():
    assert one('RUN --a="b c" d')["flags"] == ["--a=b c"]
    assert one("RUN --a=b\\ c d")["flags"] == ["--a=b c"]
    assert one('RUN --a="b\\"c"')["flags"] == ['--a=b"c']
    assert one("RUN --x= a")["flags"] == ["--x="]
    ins = one("RUN --a --  b")
    assert (ins["flags"], ins["value"]) == (["--a"], ["b"])
    assert (one("RUN --")["flags"], one("RUN --")["value"]) == ([], [])


def test_flags_are_read_bytewise_like_buildkit():
    # BuildKit turns each UTF-8 byte of a flag into one character
    assert one("RUN --chown=\u00e9 b")["flags"] == ["--chown=\u00c3\u00a9"]


def test_flags_only_at_start():
    assert one("RUN echo --x")["flags"] == []


# --- exec vs shell form ------------------------------------------------------


def test_exec_form():
    ins = one('CMD ["node", "server.js"]')
    assert (ins["json"], ins["value"]) == (True, ["node", "server.js"])
    assert one('CMD ["a\\u00e9", "\\n"]')["value"] == ["a\u00e9", "\n"]


def test_exec_form_empty_and_spaced():
    assert (one("CMD []")["json"], one("CMD []")["value"]) == (True, [])
    assert one('CMD [ "a" ]  ')["value"] == ["a"]


def test_exec_form_ignores_text_after_array():
    ins = one('CMD ["a"] x')
    assert (ins["json"], ins["value"]) == (True, ["a"])


@pytest.mark.parametrize("text", ['CMD ["a" ', "CMD ['a']", 'CMD ["a",]', "CMD [NaN]", 'CMD ["a\tb"]',
                                  'ENTRYPOINT ["node", "app.js"'])
def test_malformed_json_falls_back_to_shell_form(text):
    ins = one(text)
    assert ins["json"] is False
    assert ins["value"] == [text.split(" ", 1)[1].strip()]
    assert "malformed_json" in codes(text)


def test_shell_test_bracket_is_not_malformed_json():
    text = 'RUN [ -f /x ] && echo "yes"'
    assert one(text)["json"] is False
    assert "malformed_json" not in codes(text)


def test_lone_surrogate_escape_becomes_replacement_char():
    assert one('CMD ["\\ud800"]')["value"] == ["\ufffd"]


def test_number_too_large_for_go_is_shell_form():
    ins = one('CMD ["a", 1e400]')
    assert (ins["json"], ins["value"]) == (False, ['["a", 1e400]'])


@pytest.mark.parametrize("text", ['CMD ["a", 1]', "CMD [null]", 'VOLUME ["/a", 1]', 'ADD ["a", 1]',
                                  'HEALTHCHECK CMD ["a", 1]', 'ONBUILD CMD ["a", 1]'])
def test_json_array_with_non_string_is_syntax_error(text):
    assert "syntax_error" in codes(text)


def test_copy_add_volume_split_on_whitespace_in_shell_form():
    assert one("COPY a  b")["value"] == ["a", "b"]
    assert one('COPY --from=b ["a", "b" ')["value"] == ['["a",', '"b"']
    assert one("VOLUME /a /b")["value"] == ["/a", "/b"]


def test_string_instructions_keep_inner_blanks():
    assert one("USER  a  b ")["value"] == ["a  b"]
    assert one("STOPSIGNAL  SIGKILL  x ")["value"] == ["SIGKILL  x"]
    assert one("WORKDIR  /a b ")["value"] == ["/a b"]


def test_from_and_expose_split():
    assert one("FROM --platform=x a AS b")["value"] == ["a", "AS", "b"]
    assert one("EXPOSE  80  90 ")["value"] == ["80", "90"]


# --- ENV / LABEL / ARG -------------------------------------------------------


def test_env_key_value_pairs_keep_quotes():
    assert one('ENV a="b c" d=e\\ f')["value"] == ["a", '"b c"', "d", "e\\ f"]
    assert one('LABEL "a b"=c')["value"] == ['"a b"', "c"]
    assert one("ENV a=")["value"] == ["a", ""]


def test_env_legacy_form():
    assert one("ENV a  b  c ")["value"] == ["a", "b  c"]
    assert one("LABEL a b c")["value"] == ["a", "b c"]


def test_env_errors():
    assert "missing_arguments" in codes("ENV a")
    assert "syntax_error" in codes("ENV a=b c")
    assert "syntax_error" in codes("ENV a='b \\' c'")


def test_env_go_whitespace_rules():
    # a no-break space separates words but not the legacy name/value pair
    assert "missing_arguments" in codes("ENV a\u00a0b")
    assert one("ENV a=b\u00a0c=d")["value"] == ["a", "b", "c", "d"]


def test_arg_words():
    assert one("ARG a=1 b")["value"] == ["a=1", "b"]
    assert one("ARG a='x y'")["value"] == ["a='x y'"]


# --- HEALTHCHECK, ONBUILD ----------------------------------------------------


def test_healthcheck_forms():
    assert one("HEALTHCHECK NONE")["value"] == ["NONE"]
    ins = one('HEALTHCHECK --interval=5s CMD ["curl", "-f", "http://x/"]')
    assert (ins["flags"], ins["json"], ins["value"]) == (["--interval=5s"], True, ["CMD", "curl", "-f", "http://x/"])
    assert one("HEALTHCHECK  --interval=5s   CMD   a b")["value"] == ["CMD", "a b"]


def test_onbuild_sub_cmd():
    ins = one("ONBUILD RUN --mount=x a b")
    assert (ins["sub_cmd"], ins["flags"], ins["value"]) == ("RUN", [], ["a b"])
    ins = one('ONBUILD CMD ["a"]')
    assert (ins["sub_cmd"], ins["json"], ins["value"]) == ("CMD", True, ["a"])
    assert one("onbuild copy --from=x a b")["sub_cmd"] == "copy"
    assert one("ONBUILD --x RUN a")["flags"] == ["--x"]
    assert one("ONBUILD ONBUILD RUN x")["value"] == [""]


def test_onbuild_unknown_trigger_is_a_problem():
    assert "unknown_instruction" in codes("ONBUILD cd x")


# --- heredocs ----------------------------------------------------------------


def test_heredoc_basic():
    ins = one("RUN <<EOF\necho hi\nEOF\n")
    assert ins["heredocs"] == [{"name": "EOF", "file_descriptor": 0, "content": "echo hi\n"}]
    assert ins["original"] == "RUN <<EOF\necho hi\nEOF\n"
    assert ins["value"] == ["<<EOF"]
    assert (ins["start_line"], ins["end_line"]) == (1, 3)


def test_heredoc_several_per_line_quoted_and_chomp():
    ins = one('RUN <<EOF cat <<-"X"\na\nEOF\nb\n\t\tX\n')
    assert [(h["name"], h["content"]) for h in ins["heredocs"]] == [("EOF", "a\n"), ("X", "b\n")]
    # the terminator is shown without its tabs
    assert ins["original"] == 'RUN <<EOF cat <<-"X"\na\nEOF\nb\nX\n'
    assert (ins["start_line"], ins["end_line"]) == (1, 5)


def test_heredoc_chomp_keeps_tabs_in_content():
    assert one("RUN <<-EOF\n\thi\n\tEOF\n")["heredocs"][0]["content"] == "\thi\n"


def test_heredoc_single_quoted_name_with_space_and_fd():
    assert one("RUN <<'E O'\nx\nE O")["heredocs"][0]["name"] == "E O"
    assert one("RUN 3<<EOF\nx\nEOF")["heredocs"][0]["file_descriptor"] == 3


def test_heredoc_with_copy():
    ins = one("COPY <<EOF /app/config.json\n{}\nEOF\n")
    assert ins["value"] == ["<<EOF", "/app/config.json"]
    assert ins["heredocs"][0]["content"] == "{}\n"


def test_heredoc_crlf_content_keeps_cr():
    ins = one("RUN <<EOF\r\nx\r\nEOF\r\n")
    assert ins["heredocs"][0]["content"] == "x\r\n"
    assert ins["original"] == "RUN <<EOF\nx\r\nEOF\n"


@pytest.mark.parametrize("text", ["RUN cat<<EOF\nx\nEOF", 'RUN echo "<<EOF"\nx', 'RUN ["<<EOF"]\nx',
                                  "FROM <<EOF\nx", "RUN <<EOF<<FOO\nx", "RUN <<<EOF\nx", 'RUN <<"" \nx\n'])
def test_not_a_heredoc(text):
    result = instrs(text)
    assert result[0]["heredocs"] == []
    assert result[1]["start_line"] == 2


def test_heredoc_in_onbuild_consumes_body_but_is_not_attached():
    result = instrs("ONBUILD RUN <<EOF\nx\nEOF\nRUN b")
    assert (result[0]["heredocs"], result[0]["end_line"]) == ([], 3)
    assert result[1]["start_line"] == 4


def test_unterminated_heredoc_is_a_problem():
    result = parse("FROM a\nRUN <<EOF\nx\n")
    assert [p["code"] for p in result["problems"]] == ["unterminated_heredoc"]
    assert result["instructions"][1]["heredocs"][0]["content"] == "x\n"
    assert result["instructions"][1]["end_line"] == 3


def test_heredoc_terminator_must_match_exactly():
    assert "unterminated_heredoc" in codes("RUN <<EOF\nx\nEOF ")
    ins = one("RUN <<EOF\nx\n EOF\nEOF")
    assert ins["heredocs"][0]["content"] == "x\n EOF\n"


def test_heredoc_delimiter_with_unclosed_expansion_is_syntax_error():
    assert "syntax_error" in codes("RUN <<${X:-a b}\nx\n")


# --- structure problems ------------------------------------------------------


def test_no_from_and_instruction_before_from():
    assert codes("RUN a") == ["no_from"]
    result = parse("ARG X\nRUN a\nFROM b\n")
    assert [(p["code"], p["line"]) for p in result["problems"]] == [("instruction_before_from", 2)]


def test_missing_arguments():
    assert codes("FROM a\nRUN") == ["missing_arguments"]
    assert codes("FROM a\nCMD []") == []


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "  \n\t\n"])
def test_empty(text):
    result = parse(text)
    assert result["instructions"] == []
    assert [p["code"] for p in result["problems"]] == ["empty"]


# --- robustness and bounds ---------------------------------------------------


def test_parse_bytes_decode_error_is_a_problem():
    result = parse_bytes(b"FROM a\nRUN echo \xff\xfe\n")
    assert result["problems"][0]["code"] == "decode_error"
    assert result["problems"][0]["line"] == 2
    assert result["instructions"][1]["value"] == ["echo \ufffd\ufffd"]


def test_parse_bytes_binary():
    result = parse_bytes(b"\x7fELF\x00\x00\x01")
    assert [p["code"] for p in result["problems"]] == ["binary"]
    assert result["instructions"] == []


def test_too_large():
    result = parse("FROM a\n" + "RUN x\n" * 10, max_bytes=20)
    assert [p["code"] for p in result["problems"]] == ["too_large"]
    assert parse_bytes(b"FROM a\n" * 10, max_bytes=20)["problems"][0]["code"] == "too_large"


def test_too_many_instructions():
    result = parse("FROM a\n" + "RUN x\n" * 10, max_instructions=5)
    assert len(result["instructions"]) == 5
    assert result["problems"][-1]["code"] == "too_many_instructions"


def test_line_longer_than_buildkit_limit_is_a_problem_but_parsed():
    result = parse("FROM a\nRUN " + "a" * 70000 + "\nRUN b\n")
    assert [p["code"] for p in result["problems"]] == ["line_too_long"]
    assert [i["cmd"] for i in result["instructions"]] == ["FROM", "RUN", "RUN"]
    assert len(result["instructions"][1]["value"][0]) == 70000


def test_huge_inputs_parse():
    assert len(parse("FROM a\n" + "RUN echo hi\n" * 9000)["instructions"]) == 9001
    assert len(parse("FROM a\n" + "RUN echo hi\n" * 20000, max_instructions=30000)["instructions"]) == 20001
    big = parse("FROM a\nCMD [" + ",".join(['"x"'] * 50000) + "]\n")["instructions"][1]
    assert big["json"] is True and len(big["value"]) == 50000
    deep = parse("FROM a\nCMD " + "[" * 20000 + "\n")["instructions"][1]
    assert deep["json"] is False


@pytest.mark.parametrize("text", ["\x00", "\\", "`", "<<", "RUN <<", "RUN <<EOF", "ONBUILD", "ONBUILD ONBUILD",
                                  "# escape=", "#", "RUN [", "HEALTHCHECK CMD\u00a0x", "RUN --a=\u2150 b",
                                  "\ud800", "RUN \ud800", "ENV \"", "LABEL '", "ARG \\", "RUN \\\n",
                                  "ENV a=\"\\", "RUN <<\"EOF", "RUN 99999999999999999999999<<EOF\n"])
def test_never_raises(text):
    result = parse(text)
    assert isinstance(result["instructions"], list)
    assert all(p["code"] != "parser_error" for p in result["problems"]), result["problems"]
    parse_bytes(text.encode("utf-8", "surrogatepass"))


def test_non_text_input_is_a_problem():
    assert parse(None)["problems"][0]["code"] == "decode_error"  # type: ignore[arg-type]


def test_heredoc_delimiter_variable_forms():
    assert one("RUN <<${A:-b}\nx\n${A:-b}\n")["heredocs"][0]["name"] == "${A:-b}"
    assert one('RUN <<"$X"\nx\n$X\n')["heredocs"][0]["name"] == "$X"
    # an expansion BuildKit's lexer refuses cancels every heredoc of the line
    result = instrs("RUN <<${A#b} <<EOF\nx\nEOF\n")
    assert result[0]["heredocs"] == []
    assert [i["cmd"] for i in result] == ["RUN", "x", "EOF"]


def test_unpaired_surrogates_are_replaced():
    result = parse("FROM a\nRUN echo \ud800\n")
    assert result["problems"][0]["code"] == "decode_error"
    assert result["instructions"][1]["value"] == ["echo \ufffd"]


# --- problem messages never quote a line that is not an instruction ------------

KEY_LINES = ("-----BEGIN OPENSSH PRIVATE KEY-----",
             "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
             "AKIAIOSFODNN7EXAMPLE", "hunter2", "s3cr3t=value", "correcthorsebatterystaple", "\x1b[2Jboom")


@pytest.mark.parametrize("line", KEY_LINES)
def test_unknown_instruction_message_does_not_quote_the_line(line):
    result = parse(f"FROM a\n{line} more words\n")
    [problem] = result["problems"]
    assert problem["code"] == "unknown_instruction" and problem["line"] == 2
    assert line.split()[0] not in problem["message"]
    assert "more" not in problem["message"]
    assert problem["message"] == f"unknown instruction (a {len(line.split()[0])}-character word, not shown)"


@pytest.mark.parametrize("word", ["RUNN", "cd", "Entrypiont", "apt"])
def test_unknown_keyword_shaped_word_is_quoted(word):
    [problem] = parse(f"FROM a\n{word} --secret-flag zz-value\n")["problems"]
    assert problem["message"] == f"unknown instruction {word!r}"
    assert "zz-value" not in problem["message"] and "secret" not in problem["message"]


def test_unknown_onbuild_trigger_and_escape_directive_are_bounded():
    [problem] = parse("FROM a\nONBUILD gh0_tokenvalue123 x\n")["problems"]
    assert problem["message"] == "unknown ONBUILD trigger instruction (a 17-character word, not shown)"
    [problem] = parse("# escape=zz-secret\nFROM a\n")["problems"]
    assert problem["code"] == "invalid_directive" and "zz-secret" not in problem["message"]
