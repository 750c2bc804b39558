"""Families of phrasing added after batch 19's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # a registry client with no token to publish with
        (["error: no token found, please run `cargo login`\n"], "credentials"),
        # a reader's dtype parse of a value, a geometry the GEOS library rejects
        (
            [
                "ComputeError: could not parse `0612 - 99` as dtype `i64` at column 'phone' (column number 4)\n",
                "\n",
                "The current offset in the file is 1024 bytes.\n",
            ],
            "data_quality",
        ),
        (
            [
                "ERROR:  lwgeom_pointonsurface: GEOS Error: TopologyException: Input geom 1 is invalid: "
                "Self-intersection at or near point 10.5 20.25\n"
            ],
            "data_quality",
        ),
        # resolvers and dependency checks of other ecosystems: SwiftPM, CocoaPods, NuGet, CMake's find_package
        (
            [
                "error: dependency graph is unresolvable; found these conflicting requirements:\n",
                "Dependencies:\n",
                "    https://github.com/acme/kit.git @ 4.0.0..<5.0.0\n",
            ],
            "dependency",
        ),
        (
            [
                "Analyzing dependencies\n",
                '[!] CocoaPods could not find compatible versions for pod "Auth":\n',
                "  In Podfile:\n",
                "    Auth (~> 4.0.0)\n",
            ],
            "dependency",
        ),
        (
            [
                "C:\\build\\app.proj : error NU1202: Package Acme.Runtime 2.2.0 is not compatible with net6.0 "
                "(.NETCoreApp,Version=v6.0). Package Acme.Runtime 2.2.0 supports: net8.0\n",
                "  Restore failed in 2.68 sec for C:\\build\\app.proj.\n",
            ],
            "dependency",
        ),
        (
            [
                "-- Could NOT find ZLIB (missing: ZLIB_LIBRARY ZLIB_INCLUDE_DIR)\n",
                "CMake Error: The following variables are used in this project, but they are set to NOTFOUND.\n",
                "-- Configuring incomplete, errors occurred!\n",
            ],
            "dependency",
        ),
        # a cloud's service limits
        (
            [
                "Error: 400-LimitExceeded, The following service limits were exceeded: vcn-count. Request a service "
                "limit increase from the service limits page in the console.\n"
            ],
            "resource_exhausted",
        ),
        # an operator given arguments it does not take
        (
            [
                "airflow.exceptions.AirflowException: Invalid arguments were passed to RunOperator (task_id: run). "
                "Invalid arguments were: **kwargs: {'emit': False}\n"
            ],
            "code_bug",
        ),
    ],
)
def test_batch19_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category


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
