"""Checks added after batch 19's misses were studied (issue 12); its families of phrasing are in
test_diagnosis_families_by_batch.py.

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

from pipeline_sre.diagnosis import diagnose_lines


def test_coded_compiler_and_msbuild_errors_are_error_lines() -> None:
    # MSBuild/NuGet and the C#/TypeScript compilers print "<file> : error CODE: message", rustc "error[E0425]:"; with
    # build chatter after them those lines, not the chatter, are the block
    nuget = [
        "C:\\build\\app.proj : error NU1202: Package Acme.Runtime 2.2.0 is not compatible with net6.0.\n",
        *[f"  Generating MSBuild file C:\\build\\obj\\app.proj.nuget.g.{i}\n" for i in range(40)],
        "  Restore failed in 2.68 sec for C:\\build\\app.proj.\n",
    ]
    assert "error NU1202" in diagnose_lines(nuget).evidence
    tsc = ["src/app.ts(12,5): error TS2304: Cannot find name 'fetchRows'.\n", "Found 1 error.\n"]
    assert "error TS2304" in diagnose_lines(tsc).evidence
    rustc = ["error[E0425]: cannot find value `rows` in this scope\n", " --> src/main.rs:4:5\n"]
    assert "error[E0425]" in diagnose_lines(rustc).evidence
