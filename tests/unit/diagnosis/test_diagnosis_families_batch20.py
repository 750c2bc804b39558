"""Families of phrasing added after batch 20's misses were studied (issue 12).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # Jenkins' Copy Artifact step finding nothing the upstream build kept
        (
            [
                "[Pipeline] copyArtifacts\n",
                "05:15:23  ERROR: Failed to copy artifacts from build/jobs/nightly-linux with filter: target/*.tap\n",
                "[Pipeline] // catchError\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "Unable to access upstream artifacts area /var/jenkins/jobs/core/builds/12/archive. "
                "Does source project archive artifacts?\n",
                "ERROR: Failed to copy artifacts from core with filter: build-result/**\n",
                "Finished: FAILURE\n",
            ],
            "upstream_missing",
        ),
        # records a parser reads but cannot hold: a date beyond the index's range, a FASTQ read, a VCF allele
        (
            [
                "ERROR loader::update: Unable to run some operations on model (could not parse field `start_date`: "
                "date 2925-12-19 is out of range: date is outside the DateTime nanosecond range)\n"
            ],
            "data_quality",
        ),
        (["ERROR: sequence and quality have different length:\n", "@READ.1166 HSQ1008:141:4:2104/2\n"], "data_quality"),
        (
            [
                "htsjdk.tribble.TribbleException: The provided VCF file is malformed at approximately line number "
                "4931: unparsable vcf record with allele R, for input source: /work/calls/sample.vcf.gz\n"
            ],
            "data_quality",
        ),
        # a hosting service down for maintenance while a fetch ran
        (
            [
                "    fatal: remote error: \n",
                "    GitHub is offline for maintenance. See http://status.github.com for more info.\n",
                "    error: Could not fetch origin\n",
            ],
            "transient_network",
        ),
        # Ansible's own limit on an async task
        (
            [
                "TASK [app : Install package] ****\n",
                'fatal: [vm1]: FAILED! => {"changed": false, "msg": "async task did not complete within the '
                'requested time - 300s"}\n',
            ],
            "timeout",
        ),
        # a Jenkins cloud agent removed mid-build (a spot machine reclaimed), an older build aborted by a newer one
        (
            [
                "[2021-11-08T20:28:37.728Z] EC2 (us-west-2) - WIN_BUILD (sir-5pay89qm) was marked offline: "
                "Node is being removed\n",
                "FAILURE: org.jenkinsci.plugins.workflow.steps.FlowInterruptedException\n",
            ],
            "killed_external",
        ),
        (["Superseded by Project-Multibranch/PR-64#4\n"], "killed_external"),
        # kafka-node's group coordinator error, named in its stack and by the protocol's code alone
        (
            [
                "  kafka-node:ConsumerGroup Error { GroupCoordinatorNotAvailable: Group coordinator not available\n",
                "    at new GroupCoordinatorNotAvailable (/app/node_modules/kafka-node/lib/errors/"
                "GroupCoordinatorNotAvailableError.js:4:9)\n",
                "    at emitOne (events.js:116:13) message: 'Kafka Error Code: 15', errorCode: 15 } +3ms\n",
            ],
            "kafka_consumer",
        ),
        # Ruby's NameError and NoMethodError on nil
        (["undefined local variable or method `c' for #<Parser::XPathPlugin:0x37fef327>\n"], "code_bug"),
        (
            ["app/models/order.rb:12:in `total': undefined method `price' for nil:NilClass (NoMethodError)\n"],
            "code_bug",
        ),
    ],
)
def test_batch20_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category


@pytest.mark.parametrize(
    "lines",
    [
        # ordinary lines that share a word with the families above
        ["INFO superseded by a newer configuration; reloading\n"],
        ["INFO the maintenance window starts at 02:00 UTC\n"],
        ["Copied 3 artifacts from upstream build number 66\n"],
    ],
)
def test_batch20_family_words_alone_are_not_failures(lines: list[str]) -> None:
    assert diagnose_lines(lines, use_model=False).category == "unknown"
