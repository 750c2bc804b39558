"""Benchmarks for pipeline_sre.diagnosis (not part of the test suite).

    python bench/bench_diagnosis.py            # everything
    python bench/bench_diagnosis.py --quick    # smaller generated logs (20 MB / 40 MB)

Prints a results table and writes bench/results/diagnosis.md. Sections:

1. classification on real logs from public bug reports (bench/data/public_bug_logs.yaml), with a naive
   keyword baseline in the same run, a confusion matrix and the high-confidence error rate;
2. extraction: is the decisive line inside the <= 2 KB excerpt, plain and buried in 10,000 noise lines;
3. redaction: recall on public secret-scanner true positives, unchanged rate on loghub lines, throughput
   on a generated log against a naive one-regex-per-pattern baseline;
4. template grouping accuracy (loghub definition) against Drain's published figures;
5. a 200 MB generated log streamed through extract_errors / diagnose_lines in a subprocess
   (wall time, peak RSS) and the 1.2 MB Airflow log scale comparison.
"""

from __future__ import annotations

import argparse
import collections
import csv
import functools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pipeline_sre.diagnosis import (  # noqa: E402
    Redactor,
    TemplateMiner,
    diagnose_lines,
)
from pipeline_sre.diagnosis.fence import strip_control  # noqa: E402
from pipeline_sre.diagnosis.redact import catalog_available, load_secret_rules  # noqa: E402
from pipeline_sre.models import CATEGORIES  # noqa: E402
from secret_sets import examples_from, gitleaks_folder  # noqa: E402

DATA = ROOT / "bench" / "data"
CORPUS = ROOT / "tests" / "data" / "logs"
RESULTS = ROOT / "bench" / "results" / "diagnosis.md"
# Drain's grouping accuracy on the loghub 2k samples as published in the loghub / logparser benchmark
# (He et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019, table of accuracies).
DRAIN_PUBLISHED = {
    "Hadoop": 0.9475,
    "Spark": 0.92,
    "HDFS": 0.9975,
    "Zookeeper": 0.9665,
    "BGL": 0.9625,
    "Apache": 1.0,
    "OpenStack": 0.7325,
}
SECRET_SUITES = (
    ("Yelp/detect-secrets", "secret_positives.txt"),
    ("gitleaks/gitleaks", "secret_positives_gitleaks.txt"),
)

# The fresh batches that were reviewed, first run, studied and then trained on: the benchmark's tuned tables, the
# trainer and record_first_runs.py read these. A later batch is reported only by its first run until then.
FRESH_BATCHES = range(4, 93)
# labelled logs the shipped model was trained on (bench/train_classifier.py prints it)
TRAINED_ON = 6709
# the last fresh batch the packaged model was trained on
TRAINED_THROUGH = 91

# Batch 4, run once against the rules frozen at commit 2117822 before any change made after seeing it.
BATCH4_FIRST_RUN = {"n": 70, "right": 48, "hi_wrong": 2}
# Batch 5, run once against the rules and the learned model frozen at commit FREEZE5 (bench/data/fresh_batch5.yaml).
FREEZE5 = "02db308"
BATCH5_FIRST_RUN = {"n": 98, "right": 73, "hi_wrong": 3, "rules_right": 70, "rules_hi_wrong": 3}
# Batch 6, run once against the rules and the model retrained on 725 logs, frozen at commit FREEZE6.
FREEZE6 = "c8f12d3"
BATCH6_FIRST_RUN = {"n": 112, "right": 67, "hi_wrong": 2, "rules_right": 61, "rules_hi_wrong": 2, "unknown": 29}
# Batch 7, run once against the rules broadened after batch 6 and the model retrained on 837 logs (FREEZE7);
# it has since been studied and joined the training data (949 logs).
FREEZE7 = "7d3f019"
BATCH7_FIRST_RUN = {"n": 112, "right": 91, "hi_wrong": 2, "rules_right": 86, "rules_hi_wrong": 2, "unknown": 14}
# Batch 8, run once against the rules broadened after batch 7 and the model retrained on 949 logs (FREEZE8).
FREEZE8 = "1565826"
BATCH8_FIRST_RUN = {"n": 112, "right": 83, "hi_wrong": 3, "rules_right": 76, "rules_hi_wrong": 3, "unknown": 19}
# Batch 9 (143 logs in two collection rounds), run once against the rules broadened after batch 8 and the model
# retrained on 1,061 logs (FREEZE9).
FREEZE9 = "e886bbf"
BATCH9_FIRST_RUN = {"n": 143, "right": 104, "hi_wrong": 1, "rules_right": 100, "rules_hi_wrong": 1, "unknown": 24}
# Batch 10 (103 logs), run once against the rules broadened from the tools' documented error texts (not from any
# batch) and the model retrained on 1,204 logs (FREEZE10).
FREEZE10 = "d2f9486"
BATCH10_FIRST_RUN = {"n": 103, "right": 80, "hi_wrong": 2, "rules_right": 76, "rules_hi_wrong": 2, "unknown": 13}
# Batch 11 (57 logs: the index of unused threads with a stated cause is nearly exhausted), run once against the rules
# tuned on batch 10 and the model that also reads logs without an error block, retrained on 1,307 logs (FREEZE11).
FREEZE11 = "f09b10c"
BATCH11_FIRST_RUN = {"n": 57, "right": 47, "hi_wrong": 1, "rules_right": 42, "rules_hi_wrong": 1, "unknown": 8}
# Batch 12 (50 logs, 13 categories), run once against the rules tuned on batch 11 and the model trained on the catalogue
# too, its thresholds chosen on the earlier batches as at their first runs (FREEZE12).
FREEZE12 = "8cfa60a"
BATCH12_FIRST_RUN = {"n": 50, "right": 40, "hi_wrong": 0, "rules_right": 39, "rules_hi_wrong": 0, "unknown": 4}
# Batch 13 (99 logs, all 14 categories), run once against the rules tuned on batch 12 and the model refitted with
# scikit-learn, its regularisation and thresholds chosen on the earlier batches as at their first runs (FREEZE13).
FREEZE13 = "9c39be2"
BATCH13_FIRST_RUN = {"n": 99, "right": 62, "hi_wrong": 2, "rules_right": 58, "rules_hi_wrong": 2, "unknown": 20}
# Batch 14 (77 logs, 13 categories: no kafka_consumer, one each of upstream_missing and killed_external), run once
# against the rules tuned on batch 13, the model retrained with it, and excerpts that carry the lines around the
# error (FREEZE14). The code as it stood before freeze 14's changes (7aa1f77) scores the same 66/77 on it, freeze 13's
# code 67/77.
FREEZE14 = "22294cf"
BATCH14_FIRST_RUN = {"n": 77, "right": 66, "hi_wrong": 0, "rules_right": 62, "rules_hi_wrong": 0, "unknown": 6}
# Batch 15 (55 logs, all 14 categories), run once against the rules tuned on batch 14 and the model retrained with it
# under a floor that includes single error lines with no reason (FREEZE15). Freeze 14's code scores the same 47/55 on
# it, freeze 13's 46/55.
FREEZE15 = "e8c7c8b"
BATCH15_FIRST_RUN = {"n": 55, "right": 47, "hi_wrong": 1, "rules_right": 45, "rules_hi_wrong": 1, "unknown": 4}
# Batch 16 (77 logs, all 14 categories), run once against the rules tuned on batch 15 and a model that has a class of
# its own for text naming no cause and reads the lines around the error (FREEZE16). The code before freeze 16's
# changes (2107022) scores the same 64/77 on it.
FREEZE16 = "0616cf2"
BATCH16_FIRST_RUN = {"n": 77, "right": 64, "hi_wrong": 0, "rules_right": 58, "rules_hi_wrong": 0, "unknown": 6}
# Batch 17 (67 logs, all 14 categories, collectors pointed at less common ecosystems), run once against the rules
# tuned on batch 16 and the model retrained with it (FREEZE17). Freeze 16's code scores the same 48/67 on it, the code
# before this session's changes (2107022) 49/67.
FREEZE17 = "936d476"
BATCH17_FIRST_RUN = {"n": 67, "right": 48, "hi_wrong": 0, "rules_right": 48, "rules_hi_wrong": 0, "unknown": 12}
# Batch 18 (82 logs, all 14 categories), run once against the rules tuned on batch 17, the model retrained with it and
# its no-block threshold chosen as at the first runs (FREEZE18). The code just before that threshold (3dd53e8) scores
# 64/82 on it, freeze 17's code 63/82.
FREEZE18 = "453ca34"
BATCH18_FIRST_RUN = {"n": 82, "right": 66, "hi_wrong": 2, "rules_right": 60, "rules_hi_wrong": 2, "unknown": 5}
# Batch 19 (63 logs, 13 categories, collectors and reviewers reporting only counts), run once against the rules tuned
# on batch 18 and the model retrained with it (FREEZE19). Freeze 18's code and freeze 17's both score 43/63 on it.
FREEZE19 = "9165872"
BATCH19_FIRST_RUN = {"n": 63, "right": 45, "hi_wrong": 0, "rules_right": 34, "rules_hi_wrong": 0, "unknown": 8}
# Batch 20 (114 logs, all 14 categories, gathered in two rounds, collectors and reviewers reporting only counts), run
# once against the rules tuned on batch 19, the model retrained with it and the wider excerpt (FREEZE20). Freeze 19's
# code scores 95/114 on it, the code before the excerpt change (7de9412) 94/114.
FREEZE20 = "c6afbaf"
BATCH20_FIRST_RUN = {"n": 114, "right": 94, "hi_wrong": 0, "rules_right": 80, "rules_hi_wrong": 0, "unknown": 14}
# Batch 21 (32 logs, 13 categories, what the session's search budget had left), run once against the rules tuned on
# batch 20 and the model retrained with it (FREEZE21). Freeze 20's code scores the same 26/32 on it.
FREEZE21 = "e4b816d"
BATCH21_FIRST_RUN = {"n": 32, "right": 26, "hi_wrong": 0, "rules_right": 23, "rules_hi_wrong": 0, "unknown": 5}
# Batch 22 (98 logs, all 14 categories, seven collectors and seven reviewers reporting only counts), run once against
# the rules tuned on batch 21, the model retrained with it and tracebacks that lost their indent read as tracebacks
# (FREEZE22). Freeze 21's code scores the same 80/98 on it.
FREEZE22 = "b92f8de"
BATCH22_FIRST_RUN = {"n": 98, "right": 80, "hi_wrong": 1, "rules_right": 71, "rules_hi_wrong": 1, "unknown": 9}
# Batch 23 (67 logs, all 14 categories, five collectors pointed at ecosystems the earlier batches had little of), run
# once against the rules tuned on batch 22 and the model retrained with it (FREEZE23). Freeze 22's code scores 60/67 on
# it: the retrained model left 3 more logs unknown and named one more right.
FREEZE23 = "83d5705"
BATCH23_FIRST_RUN = {"n": 67, "right": 58, "hi_wrong": 0, "rules_right": 52, "rules_hi_wrong": 0, "unknown": 5}
# Batch 24 (29 logs, 12 categories), run once against the rules tuned on batch 23 and the model retrained with it
# (FREEZE24) before it was reviewed (the search budget had run out); freeze 23's code scores 21/29. Reviewed by a later
# session after that run: all 29 kept.
FREEZE24 = "9d3e78f"
BATCH24_FIRST_RUN = {"n": 29, "right": 22, "hi_wrong": 1, "rules_right": 19, "rules_hi_wrong": 1, "unknown": 3}
# Batch 25 (81 logs, all 14 categories, eight collectors and eight reviewers), run once against the rules tuned on
# batch 24 and the model retrained with it (FREEZE25). Freeze 24's code scores the same 63/81 on it.
FREEZE25 = "db897db"
BATCH25_FIRST_RUN = {"n": 81, "right": 63, "hi_wrong": 1, "rules_right": 56, "rules_hi_wrong": 1, "unknown": 8}
# Batch 26 (100 logs, all 14 categories, seven collectors and seven reviewers), run once against the code as landed
# after batch 25 (FREEZE26: nothing changed in the session that gathered it before the run). Freeze 25's code: 89/100.
FREEZE26 = "3432e08"
BATCH26_FIRST_RUN = {"n": 100, "right": 90, "hi_wrong": 1, "rules_right": 77, "rules_hi_wrong": 1, "unknown": 5}
# Batch 27 (74 logs, all 14 categories, gathered with what was left of the same session's search budget), run once
# against the rules tuned on batch 26 and the model retrained with it (FREEZE27). Freeze 26's code: the same 68/74.
FREEZE27 = "34d5776"
BATCH27_FIRST_RUN = {"n": 74, "right": 68, "hi_wrong": 0, "rules_right": 58, "rules_hi_wrong": 0, "unknown": 5}
# Batch 28 (103 logs, all 14 categories), gathered under a taxonomy without example wordings by collectors told to
# search by tool and situation (bench/protocol at 3e9dca6), run once against the code as landed (FREEZE28: 0f341e1's).
FREEZE28 = "3e9dca6"
BATCH28_FIRST_RUN = {"n": 103, "right": 73, "hi_wrong": 0, "rules_right": 52, "rules_hi_wrong": 0, "unknown": 16}
# Batch 29 (45 logs, 13 categories, gathered the same way with what was left of the search budget), run once against
# the rules tuned on batch 28 and the model retrained with it (FREEZE29). Freeze 28's code: the same 34/45.
FREEZE29 = "726693e"
BATCH29_FIRST_RUN = {"n": 45, "right": 34, "hi_wrong": 0, "rules_right": 30, "rules_hi_wrong": 0, "unknown": 8}
# Batch 30 (97 logs, all 14 categories, gathered the same way with a new session's search budget), run once against the
# code as landed after batch 29 (FREEZE30: relayed Airflow lines read as the command's own, the model unchanged).
# Freeze 29's code: the same 74/97; freeze 20's 70/97, freeze 13's 63/97.
FREEZE30 = "fa25b1b"
BATCH30_FIRST_RUN = {"n": 97, "right": 74, "hi_wrong": 2, "rules_right": 62, "rules_hi_wrong": 2, "unknown": 8}
# Batch 31 (50 logs, 12 categories, gathered the same way with what was left of the same session's search budget, while
# batch 30's changes were made), run once against the rules tuned on batch 30 and the model retrained with it
# (FREEZE31). Freeze 30's code: 33/50; freeze 20's 32/50, freeze 13's 30/50.
FREEZE31 = "e834db1"
BATCH31_FIRST_RUN = {"n": 50, "right": 35, "hi_wrong": 0, "rules_right": 28, "rules_hi_wrong": 0, "unknown": 10}
# Batch 32 (86 logs, all 14 categories, gathered the same way with a new session's search budget), run once against the
# code as landed after batch 31 with failures stated without an error word looked for mid-log (FREEZE32). The code as
# landed before that change (27738a0): the same 64/86 (82/86 decisive lines buried); freeze 20's 48/86, freeze 13's
# 48/86.
FREEZE32 = "a18e35c"
BATCH32_FIRST_RUN = {"n": 86, "right": 64, "hi_wrong": 3, "rules_right": 49, "rules_hi_wrong": 3, "unknown": 5}
# Batch 33 (76 logs, all 14 categories, gathered the same way with what was left of the same session's search budget,
# while batch 32's changes were made), run once against the rules tuned on batch 32 and the model retrained with it
# (FREEZE33). Freeze 32's code: 55/76; freeze 20's 50/76, freeze 13's 45/76.
FREEZE33 = "3752318"
BATCH33_FIRST_RUN = {"n": 76, "right": 56, "hi_wrong": 0, "rules_right": 40, "rules_hi_wrong": 0, "unknown": 9}
# Batch 34 (100 logs, all 14 categories, gathered the same way in a new session), run once against the code as landed
# after batch 33 with the mid-log scan made faster (FREEZE34). Freeze 33's code: 64/100; freeze 32's 64/100, freeze 20's
# 59/100, freeze 13's 58/100.
FREEZE34 = "6254511"
BATCH34_FIRST_RUN = {"n": 100, "right": 64, "hi_wrong": 2, "rules_right": 53, "rules_hi_wrong": 2, "unknown": 18}
# Batch 35 (49 logs, all 14 categories, gathered the same way with what was left of the same session's search budget,
# while batch 34's changes were made), run once against the rules tuned on batch 34 and the model retrained with it
# (FREEZE35). Freeze 34's code: 35/49; freeze 20's 35/49, freeze 13's 33/49.
FREEZE35 = "8513d41"
BATCH35_FIRST_RUN = {"n": 49, "right": 36, "hi_wrong": 2, "rules_right": 33, "rules_hi_wrong": 2, "unknown": 5}
# Batch 36 (94 logs, all 14 categories, gathered the same way in a new session), run once against the code as landed
# after batch 35 (FREEZE36). Freeze 35's code: 61/94; freeze 34's 60/94, freeze 20's 55/94, freeze 13's 46/94.
FREEZE36 = "34df1c2"
BATCH36_FIRST_RUN = {"n": 94, "right": 62, "hi_wrong": 3, "rules_right": 51, "rules_hi_wrong": 3, "unknown": 15}
# Batch 37 (70 logs, all 14 categories, gathered the same way with what was left of the same session's search budget,
# while batch 36's changes were made), run once against the rules tuned on batch 36 and the model retrained with it
# (FREEZE37). Freeze 36's code: 53/70; freeze 35's 53/70, freeze 20's 50/70, freeze 13's 43/70.
FREEZE37 = "ddc0cb0"
BATCH37_FIRST_RUN = {"n": 70, "right": 49, "hi_wrong": 1, "rules_right": 44, "rules_hi_wrong": 1, "unknown": 15}
# Batch 38 (97 logs, all 14 categories, gathered the same way in a new session), run once against the code as landed
# after batch 37 with Python's runtime wordings for a code bug at 0.77 (FREEZE38). Freeze 37's code: 56/97; freeze 36's
# 57/97, freeze 20's 55/97, freeze 13's 52/97.
FREEZE38 = "476d211"
BATCH38_FIRST_RUN = {"n": 97, "right": 56, "hi_wrong": 1, "rules_right": 50, "rules_hi_wrong": 1, "unknown": 18}
# Batch 39 (47 logs, 13 categories, gathered the same way with what was left of the same session's search budget,
# while batch 38's changes were made), run once against the rules tuned on batch 38 and the model retrained with it
# (FREEZE39). Freeze 38's code: 32/47; freeze 37's 32/47, freeze 20's 30/47, freeze 13's 22/47.
FREEZE39 = "9a3b518"
BATCH39_FIRST_RUN = {"n": 47, "right": 33, "hi_wrong": 0, "rules_right": 27, "rules_hi_wrong": 0, "unknown": 6}
# Batch 40 (22 logs, 11 categories, gathered the same way with the last of the same session's search budget, after
# batch 39's changes were made), run once against the rules tuned on batch 39 and the model retrained with it
# (FREEZE40). Freeze 39's and freeze 38's code: 15/22; freeze 20's 17/22, freeze 13's 15/22.
FREEZE40 = "4d68eea"
BATCH40_FIRST_RUN = {"n": 22, "right": 15, "hi_wrong": 0, "rules_right": 14, "rules_hi_wrong": 0, "unknown": 3}
# Batch 41 (85 logs, 13 categories, gathered in a new session under the same protocol texts), run once against the
# code as landed after batch 40 (FREEZE41). Freeze 40's and freeze 38's code: 53/85; freeze 20's 48/85, freeze 13's
# 45/85.
FREEZE41 = "47f7c49"
BATCH41_FIRST_RUN = {"n": 85, "right": 53, "hi_wrong": 1, "rules_right": 47, "rules_hi_wrong": 1, "unknown": 18}
# Batch 42 (67 logs, 13 categories, gathered the same way with the rest of the same session's search budget, while
# batch 41's changes were made), run once against the rules tuned on batch 41 and the model retrained with it
# (FREEZE42). Freeze 41's and freeze 40's code: 52/67; freeze 20's 51/67, freeze 13's 50/67.
FREEZE42 = "4687cf1"
BATCH42_FIRST_RUN = {"n": 67, "right": 52, "hi_wrong": 0, "rules_right": 45, "rules_hi_wrong": 0, "unknown": 5}
# Batch 43 (29 logs, 13 categories, gathered the same way with the last of the same session's search budget, after
# batch 42's changes were made), run once against the rules tuned on batch 42 and the model retrained with it
# (FREEZE43). Freeze 42's and freeze 41's code: 24/29; freeze 20's and freeze 13's 25/29.
FREEZE43 = "8b53363"
BATCH43_FIRST_RUN = {"n": 29, "right": 24, "hi_wrong": 0, "rules_right": 22, "rules_hi_wrong": 0, "unknown": 3}
# Batch 44 (130 logs, 14 categories, gathered in a new session with a new search budget), run once against the rules
# tuned on batch 43 and the model retrained with it (FREEZE44). Freeze 43's code: 76/130; freeze 20's 66/130, freeze
# 13's 56/130.
FREEZE44 = "0449c2d"
BATCH44_FIRST_RUN = {"n": 130, "right": 73, "hi_wrong": 1, "rules_right": 57, "rules_hi_wrong": 1, "unknown": 30}
# Batch 45 (23 logs, 11 categories, gathered the same way with the last of the same session's search budget, after
# batch 44's changes were made), run once against the rules tuned on batch 44 and the model retrained with it
# (FREEZE45). Freeze 44's code: 19/23; freeze 20's 19/23, freeze 13's 18/23. Studied and trained on in the next
# session (its 4 misses: three wordings added, one traceback cut before its last line).
FREEZE45 = "aea9420"
BATCH45_FIRST_RUN = {"n": 23, "right": 19, "hi_wrong": 0, "rules_right": 17, "rules_hi_wrong": 0, "unknown": 2}
# Batch 46 (108 logs, 14 categories, gathered the same way in a new session with a fresh search budget), run once
# against the rules tuned on batch 45 and the model retrained with it (FREEZE46). Freeze 45's code: 78/108; freeze
# 20's 74/108, freeze 13's 68/108. Studied and trained on in the same session (29 misses: 17 wordings added).
FREEZE46 = "583cc49"
BATCH46_FIRST_RUN = {"n": 108, "right": 79, "hi_wrong": 0, "rules_right": 67, "rules_hi_wrong": 0, "unknown": 13}
# Batch 47 (34 logs, 12 categories, gathered the same way with the rest of the same session's search budget, after
# batch 46's changes were made), run once against the rules tuned on batch 46 and the model retrained with it
# (FREEZE47). Freeze 46's code: 23/34 too; freeze 20's 23/34, freeze 13's 21/34. Studied and trained on in the same
# session (11 misses: 7 wordings added).
FREEZE47 = "2164074"
BATCH47_FIRST_RUN = {"n": 34, "right": 23, "hi_wrong": 0, "rules_right": 20, "rules_hi_wrong": 0, "unknown": 8}
# Batch 48 (107 logs, 14 categories, gathered the same way in a new session with a fresh search budget), run once
# against the rules tuned on batch 47 and the model retrained with it (FREEZE48). Freeze 47's code: 70/107 too; freeze
# 20's 63/107, freeze 13's 59/107.
FREEZE48 = "4443ca3"
BATCH48_FIRST_RUN = {"n": 107, "right": 70, "hi_wrong": 0, "rules_right": 59, "rules_hi_wrong": 0, "unknown": 19}
# Batch 49 (34 logs, 11 categories, gathered the same way with the rest of the same session's search budget, after
# batch 48's changes were made), run once against the rules tuned on batch 48 and the model retrained with it
# (FREEZE49). Freeze 48's code: 29/34 too; freeze 20's 29/34, freeze 13's 28/34: an easier batch, not a better code.
FREEZE49 = "74e95ff"
BATCH49_FIRST_RUN = {"n": 34, "right": 29, "hi_wrong": 1, "rules_right": 28, "rules_hi_wrong": 1, "unknown": 2}
# Batch 50 (103 logs, 14 categories, gathered the same way in a new session with a fresh search budget), run once
# against the rules tuned on batch 49 and the model retrained with it (FREEZE50). Freeze 48's code: 71/103; freeze
# 20's 59/103, freeze 13's 58/103. The excerpt change committed after the freeze and before the batch was read
# (a296a0d): 69/103, decisive lines 103 alone and 101 buried.
# Studied and trained on in the same session (34 misses: 19 wordings added).
FREEZE50 = "1a4e1b8"
BATCH50_FIRST_RUN = {"n": 103, "right": 69, "hi_wrong": 0, "rules_right": 57, "rules_hi_wrong": 0, "unknown": 22}
# Batch 51 (33 logs, 13 categories, gathered the same way with the rest of the same session's search budget, after
# batch 50's changes were made), run once against the rules tuned on batch 50 and the model retrained with it
# (FREEZE51). Freeze 50's code: 19/33 too; freeze 20's 19/33, freeze 13's 20/33: a harder batch, not worse code.
# Studied and trained on in the same session (14 misses: 8 wordings added, 9 logs).
FREEZE51 = "e5042ce"
BATCH51_FIRST_RUN = {"n": 33, "right": 19, "hi_wrong": 0, "rules_right": 17, "rules_hi_wrong": 0, "unknown": 7}
# Batch 52 (100 logs, 14 categories, gathered the same way in a new session with a fresh search budget), run once
# against the rules tuned on batch 51 and the model retrained with it (FREEZE52). The code the session before ended
# with (96fe211: the same rules, the model trained through batch 50): 66/100; freeze 50's 65/100, freeze 20's 61/100,
# freeze 13's 58/100.
FREEZE52 = "47b7bbd"
BATCH52_FIRST_RUN = {"n": 100, "right": 63, "hi_wrong": 1, "rules_right": 56, "rules_hi_wrong": 1, "unknown": 23}
# Batch 53 (31 logs, 13 categories, gathered the same way with the rest of the same session's search budget, after
# batch 52's changes were made), run once against the rules tuned on batch 52 and the model retrained with it by the
# trainer whose floor sets aside the loudest 3% of cause-less logs (FREEZE53). Freeze 52's code: 24/31; freeze 20's
# 22/31, freeze 13's 18/31.
FREEZE53 = "abab974"
BATCH53_FIRST_RUN = {"n": 31, "right": 25, "hi_wrong": 0, "rules_right": 22, "rules_hi_wrong": 0, "unknown": 2}
# Batch 54 (81 logs, 14 categories, gathered the same way at the start of a new session with a new search budget),
# run once against the rules tuned on batch 53 and the model retrained with it (FREEZE54). The code the session
# before ended with (337f402: the same rules, the model trained through batch 52): 58/81; freeze 53's 57/81, freeze
# 20's 52/81, freeze 13's 46/81.
FREEZE54 = "8a2a645"
BATCH54_FIRST_RUN = {"n": 81, "right": 58, "hi_wrong": 1, "rules_right": 52, "rules_hi_wrong": 1, "unknown": 11}
# Batch 55 (30 logs, 13 categories, gathered the same way with the rest of the same session's search budget, before
# batch 54's changes were made), run once against the rules tuned on batch 54 and the model retrained with it
# (FREEZE55). Freeze 54's code: 23/30 too; freeze 20's 23/30, freeze 13's 20/30.
FREEZE55 = "226c81f"
BATCH55_FIRST_RUN = {"n": 30, "right": 23, "hi_wrong": 0, "rules_right": 20, "rules_hi_wrong": 0, "unknown": 3}
# Batch 56 (16 logs, 12 categories, gathered the same way with the last of the same session's search budget, after
# batch 55's wordings were made), run once against the rules tuned on batch 55 and the model retrained with it
# (FREEZE56). Freeze 55's code: 13/16 too; freeze 20's 13/16, freeze 13's 14/16.
FREEZE56 = "97407d0"
BATCH56_FIRST_RUN = {"n": 16, "right": 13, "hi_wrong": 0, "rules_right": 12, "rules_hi_wrong": 0, "unknown": 2}
# Batch 57 (106 logs, 14 categories, gathered the same way at the start of the next session with a new search budget),
# run once against the rules tuned on batch 56 and the model retrained with it (FREEZE57). Freeze 56's code: 73/106
# too; freeze 20's 68/106, freeze 13's 67/106.
FREEZE57 = "bb03680"
BATCH57_FIRST_RUN = {"n": 106, "right": 73, "hi_wrong": 2, "rules_right": 60, "rules_hi_wrong": 2, "unknown": 20}
# Batch 58 (39 logs, 13 categories, gathered the same way with the rest of the same session's search budget while
# batch 57 was reviewed and studied), run once against the rules tuned on batch 57 and the model retrained with it
# (FREEZE58). Freeze 57's code: 29/39 too; freeze 20's 26/39, freeze 13's 26/39.
FREEZE58 = "7a3bc86"
BATCH58_FIRST_RUN = {"n": 39, "right": 29, "hi_wrong": 0, "rules_right": 27, "rules_hi_wrong": 0, "unknown": 5}
# Batch 59 (14 logs, 11 categories, gathered the same way with the last of the same session's search budget, after
# batch 58's wordings were made), run once against the rules tuned on batch 58 and the model retrained with it
# (FREEZE59). Freeze 58's code: 12/14 too; freeze 20's 12/14, freeze 13's 11/14.
FREEZE59 = "aa2f656"
BATCH59_FIRST_RUN = {"n": 14, "right": 12, "hi_wrong": 0, "rules_right": 12, "rules_hi_wrong": 0, "unknown": 2}
# Batch 60 (99 logs, 14 categories, gathered the same way at the start of the next session with a new search budget),
# run once against the rules tuned on batch 58 (batch 59 had no wordings) and the model retrained with batch 59
# (FREEZE60). Freeze 59's code: 70/99; freeze 20's 66/99, freeze 13's 63/99.
FREEZE60 = "3c54183"
BATCH60_FIRST_RUN = {"n": 99, "right": 71, "hi_wrong": 0, "rules_right": 58, "rules_hi_wrong": 0, "unknown": 12}
# Batch 61 (54 logs, 11 categories, gathered the same way with the rest of the same session's search budget while
# batch 60 was reviewed and studied), run once against the rules tuned on batch 60 and the model retrained with it
# (FREEZE61). Freeze 60's code: 38/54 too; freeze 20's 36/54, freeze 13's 36/54.
FREEZE61 = "36d92cf"
BATCH61_FIRST_RUN = {"n": 54, "right": 38, "hi_wrong": 0, "rules_right": 30, "rules_hi_wrong": 0, "unknown": 9}
# Batch 62 (99 logs, 13 categories, gathered the same way at the start of the next session with a new search budget),
# run once against the rules tuned on batch 61 and the model retrained with it (FREEZE62). Freeze 61's code: 74/99 too;
# freeze 20's 66/99, freeze 13's 57/99.
FREEZE62 = "db4e487"
BATCH62_FIRST_RUN = {"n": 99, "right": 74, "hi_wrong": 0, "rules_right": 59, "rules_hi_wrong": 0, "unknown": 11}
# Batch 63 (27 logs, 9 categories, gathered the same way with the rest of the same session's search budget while
# batch 62 was studied), run once against the rules tuned on batch 62 and the model retrained with it (FREEZE63).
# Freeze 62's code: 22/27 too; freeze 20's 20/27, freeze 13's 19/27.
FREEZE63 = "c7a67c1"
BATCH63_FIRST_RUN = {"n": 27, "right": 22, "hi_wrong": 1, "rules_right": 16, "rules_hi_wrong": 1, "unknown": 1}
# Batch 64 (109 logs, 14 categories, gathered the same way at the start of the next session with a new search
# budget), run once against the rules tuned on batch 63 and the model retrained with it (FREEZE64). Freeze 63's code:
# 76/109 too; freeze 20's 70/109, freeze 13's 63/109.
FREEZE64 = "cca58d8"
BATCH64_FIRST_RUN = {"n": 109, "right": 76, "hi_wrong": 0, "rules_right": 64, "rules_hi_wrong": 0, "unknown": 20}
# Batch 65 (25 logs, 8 categories, gathered the same way with the rest of the same session's search budget while
# batch 64 was studied), run once against the rules tuned on batch 64 and the model retrained with it (FREEZE65).
# Freeze 64's code: 19/25 too; freeze 20's 17/25, freeze 13's 17/25.
FREEZE65 = "1b9b1e7"
BATCH65_FIRST_RUN = {"n": 25, "right": 19, "hi_wrong": 0, "rules_right": 14, "rules_hi_wrong": 0, "unknown": 5}
# Batch 66 (101 logs, 14 categories, gathered the same way at the start of the next session with a new search
# budget), run once against the rules tuned on batch 65 and the model retrained with it (FREEZE66). Freeze 65's code:
# 71/101 too; freeze 20's 58/101, freeze 13's 53/101.
FREEZE66 = "381bc9b"
BATCH66_FIRST_RUN = {"n": 101, "right": 71, "hi_wrong": 1, "rules_right": 53, "rules_hi_wrong": 1, "unknown": 18}
# Batch 67 (27 logs, 11 categories, gathered the same way with the rest of the same session's search budget while
# batch 66 was studied), run once against the rules tuned on batch 66 and the model retrained with it (FREEZE67).
# Freeze 66's code: 17/27 too; freeze 20's 17/27, freeze 13's 13/27.
FREEZE67 = "76c389f"
BATCH67_FIRST_RUN = {"n": 27, "right": 17, "hi_wrong": 0, "rules_right": 16, "rules_hi_wrong": 0, "unknown": 3}
# Batch 68 (94 logs, 12 categories, gathered the same way at the start of the next session with a new search budget,
# kafka_consumer and killed_external left out), run once against the rules tuned on batch 67 and the model retrained
# with it (FREEZE68). Freeze 67's code: 63/94; freeze 20's 57/94, freeze 13's 50/94.
FREEZE68 = "1c3d727"
BATCH68_FIRST_RUN = {"n": 94, "right": 66, "hi_wrong": 1, "rules_right": 50, "rules_hi_wrong": 1, "unknown": 10}
# Batch 69 (43 logs, 12 categories, gathered the same way with the rest of the same session's search budget while
# batch 68 was unread), run once against the rules tuned on batch 68 and the model retrained with it (FREEZE69).
# Freeze 68's code: 31/43 too; freeze 20's 27/43, freeze 13's 26/43.
FREEZE69 = "33b2424"
BATCH69_FIRST_RUN = {"n": 43, "right": 31, "hi_wrong": 0, "rules_right": 27, "rules_hi_wrong": 0, "unknown": 8}
# Batch 70 (83 logs, 12 categories, gathered the same way at the start of the next session with a new search budget,
# kafka_consumer and killed_external left out), run once against the rules tuned on batch 69 and the model retrained
# with it (FREEZE70). Freeze 69's code: 69/83; freeze 20's 62/83, freeze 13's 59/83.
FREEZE70 = "26f5adb"
BATCH70_FIRST_RUN = {"n": 83, "right": 68, "hi_wrong": 0, "rules_right": 58, "rules_hi_wrong": 0, "unknown": 7}
# Batch 71 (41 logs, 12 categories, gathered the same way with the rest of the same session's search budget while
# batch 70 was unread), run once against the rules tuned on batch 70 and the model retrained with it (FREEZE71).
# Freeze 70's code: 32/41 too; freeze 20's 27/41, freeze 13's 29/41.
FREEZE71 = "3ed06a6"
BATCH71_FIRST_RUN = {"n": 41, "right": 32, "hi_wrong": 1, "rules_right": 25, "rules_hi_wrong": 1, "unknown": 1}
# Batch 72 (16 logs, 4 categories, gathered the same way with the last of the same session's search budget while the
# model was retrained on batch 71), run once against the rules tuned on batch 71 and the model retrained with it
# (FREEZE72). Freeze 71's code: 11/16; freeze 20's 9/16, freeze 13's 8/16.
FREEZE72 = "31016ae"
BATCH72_FIRST_RUN = {"n": 16, "right": 12, "hi_wrong": 0, "rules_right": 9, "rules_hi_wrong": 0, "unknown": 3}
# Batch 73 (86 logs, 12 categories, gathered the same way at the start of the next session with a new search budget
# while the model was retrained on batch 72), run once against the rules tuned on batch 72 and the model retrained with
# it (FREEZE73). Freeze 72's code: 67/86; freeze 20's 58/86, freeze 13's 58/86.
FREEZE73 = "11913b4"
BATCH73_FIRST_RUN = {"n": 86, "right": 66, "hi_wrong": 2, "rules_right": 51, "rules_hi_wrong": 2, "unknown": 11}
# Batch 74 (27 logs, 11 categories, gathered the same way with the rest of the same session's search budget while
# batch 73 was unread), run once against the rules tuned on batch 73 and the model as trained on batch 72 (FREEZE74).
# Freeze 73's code: 20/27 too; freeze 20's 17/27, freeze 13's 15/27.
FREEZE74 = "41348a9"
BATCH74_FIRST_RUN = {"n": 27, "right": 20, "hi_wrong": 0, "rules_right": 16, "rules_hi_wrong": 0, "unknown": 3}
# Batch 75 (9 logs, 6 categories, gathered the same way with the last of the same session's search budget while the
# model was retrained on batches 73 and 74), run once against the rules tuned on batch 74 and the model retrained with
# batches 73 and 74 (FREEZE75). Freeze 74's code: 7/9 too; freeze 20's 6/9, freeze 13's 7/9.
FREEZE75 = "f0e9f0f"
BATCH75_FIRST_RUN = {"n": 9, "right": 7, "hi_wrong": 0, "rules_right": 5, "rules_hi_wrong": 0, "unknown": 1}
# Batch 76 (117 logs, 12 categories, gathered the same way at the start of the next session with a new search budget),
# run once against the rules tuned on batch 74, the model retrained with batches 73 and 74 and a model answer without
# an error block shown beside the log's last words (FREEZE76). Freeze 75's code: 85/117 too; freeze 20's 73/117,
# freeze 13's 75/117.
FREEZE76 = "2c1a9fe"
BATCH76_FIRST_RUN = {"n": 117, "right": 85, "hi_wrong": 0, "rules_right": 72, "rules_hi_wrong": 0, "unknown": 12}
# Batch 77 (31 logs, 12 categories, gathered the same way with the rest of the same session's search budget while
# batch 76 was studied and the model retrained), run once against the rules tuned on batch 76 and the model retrained
# with batches 75 and 76 (FREEZE77). Freeze 76's code: 19/31 too; freeze 20's 16/31, freeze 13's 16/31.
FREEZE77 = "193c4c5"
BATCH77_FIRST_RUN = {"n": 31, "right": 19, "hi_wrong": 0, "rules_right": 17, "rules_hi_wrong": 0, "unknown": 7}
# Batch 78 (92 logs, 12 categories, gathered the same way at the start of the next session with a new search budget),
# run once against the rules tuned on batch 77 and the model retrained with batch 77 (FREEZE78). Freeze 77's code:
# 58/92 too; freeze 20's 56/92, freeze 13's 49/92.
FREEZE78 = "4c521cb"
BATCH78_FIRST_RUN = {"n": 92, "right": 58, "hi_wrong": 0, "rules_right": 48, "rules_hi_wrong": 0, "unknown": 20}
# Batch 79 (26 logs, 10 categories, gathered the same way with the rest of the same session's search budget before
# batch 78 was read), run once against the rules tuned on batch 78 and the model as at freeze 78 (FREEZE79). Freeze
# 78's code: 20/26 too; freeze 20's 14/26, freeze 13's 15/26.
FREEZE79 = "b1879f4"
BATCH79_FIRST_RUN = {"n": 26, "right": 20, "hi_wrong": 1, "rules_right": 18, "rules_hi_wrong": 1, "unknown": 5}
# Batch 80 (95 logs, 12 categories, gathered the same way with a new session's search budget while the model was
# retrained), run once against the rules tuned on batch 79 and the model retrained with batches 78 and 79 (FREEZE80).
# Freeze 79's code (the model before that retraining): 63/95; freeze 20's 49/95, freeze 13's 49/95.
FREEZE80 = "938ece8"
BATCH80_FIRST_RUN = {"n": 95, "right": 62, "hi_wrong": 0, "rules_right": 55, "rules_hi_wrong": 0, "unknown": 19}
# Batch 81 (59 logs, 12 categories, gathered the same way with the rest of the same session's search budget before
# batch 80 was read), run once against the rules tuned on batch 80 and the model as at freeze 80 (FREEZE81). Freeze
# 80's code: 45/59 too; freeze 20's 35/59, freeze 13's 32/59.
FREEZE81 = "60fed6d"
BATCH81_FIRST_RUN = {"n": 59, "right": 45, "hi_wrong": 0, "rules_right": 34, "rules_hi_wrong": 0, "unknown": 8}
# Batch 82 (92 logs, 12 categories, gathered the same way with a new session's search budget), run once against the
# rules tuned on batch 81 and the model retrained with batches 80 and 81 (FREEZE82). Freeze 81's code (the model
# before that retraining): 47/92 too; freeze 20's 41/92, freeze 13's 41/92.
FREEZE82 = "e809ead"
BATCH82_FIRST_RUN = {"n": 92, "right": 47, "hi_wrong": 0, "rules_right": 39, "rules_hi_wrong": 0, "unknown": 28}
# Batch 83 (69 logs, 12 categories, gathered the same way with the rest of the same session's search budget before
# batch 82 was read), run once against the rules tuned on batch 82 and the model as at freeze 82 (FREEZE83). Freeze
# 82's code: 57/69 too; freeze 20's 49/69, freeze 13's 48/69.
FREEZE83 = "4f0c182"
BATCH83_FIRST_RUN = {"n": 69, "right": 57, "hi_wrong": 0, "rules_right": 44, "rules_hi_wrong": 0, "unknown": 6}
# Batch 84 (94 logs, 12 categories, gathered the same way with a new session's search budget), run once against the
# rules tuned on batch 83 and the model retrained with batches 82 and 83 (FREEZE84). Freeze 83's code (the model
# before that retraining): 60/94; freeze 20's 54/94, freeze 13's 46/94.
FREEZE84 = "94d164b"
BATCH84_FIRST_RUN = {"n": 94, "right": 57, "hi_wrong": 1, "rules_right": 45, "rules_hi_wrong": 1, "unknown": 19}
# Batch 85 (56 logs, 10 categories, gathered the same way with the rest of the same session's search budget after
# batch 84's wordings), run once against those wordings and the same model (FREEZE85). Freeze 84's code: 32/56 too;
# freeze 20's 25/56, freeze 13's 25/56.
FREEZE85 = "d0d0b80"
BATCH85_FIRST_RUN = {"n": 56, "right": 32, "hi_wrong": 0, "rules_right": 24, "rules_hi_wrong": 0, "unknown": 11}
# Batch 86 (92 logs, 12 categories, gathered the same way with a new session's search budget), run once against the
# rules tuned on batch 85 and the model retrained with batches 84 and 85 (FREEZE86). Freeze 85's code (the model
# before that retraining): 62/92; freeze 20's 55/92, freeze 13's 51/92.
FREEZE86 = "f336c43"
BATCH86_FIRST_RUN = {"n": 92, "right": 63, "hi_wrong": 0, "rules_right": 48, "rules_hi_wrong": 0, "unknown": 11}
# Batch 87 (60 logs, 12 categories, gathered the same way with the rest of the same session's search budget after
# batch 86's wordings), run once against those wordings and the same model (FREEZE87). Freeze 86's code: 37/60 too;
# freeze 20's 29/60, freeze 13's 31/60.
FREEZE87 = "623f3a1"
BATCH87_FIRST_RUN = {"n": 60, "right": 37, "hi_wrong": 0, "rules_right": 26, "rules_hi_wrong": 0, "unknown": 16}
# Batch 88 (94 logs, 12 categories, gathered the same way with a new session's search budget), run once against the
# rules tuned on batch 87 and the model retrained with batches 86 and 87 (FREEZE88). Freeze 87's code (the model
# before that retraining): 64/94; freeze 20's 56/94, freeze 13's 49/94.
FREEZE88 = "340fc53"
BATCH88_FIRST_RUN = {"n": 94, "right": 63, "hi_wrong": 1, "rules_right": 52, "rules_hi_wrong": 1, "unknown": 15}
# Batch 89 (51 logs, 11 categories, gathered the same way with the rest of the same session's search budget after
# batch 88's wordings), run once against those wordings and the same model (FREEZE89). Freeze 88's code: 37/51 too;
# freeze 20's 31/51, freeze 13's 31/51.
FREEZE89 = "3096017"
BATCH89_FIRST_RUN = {"n": 51, "right": 37, "hi_wrong": 0, "rules_right": 32, "rules_hi_wrong": 0, "unknown": 10}
# Batch 90 (11 logs, 4 categories, gathered the same way with the last of the same session's search budget after the
# model was retrained with batches 88 and 89), run once against that model and batch 89's wordings (FREEZE90). Freeze
# 89's code: 9/11 too; freeze 20's 7/11, freeze 13's 7/11.
FREEZE90 = "100b2c0"
BATCH90_FIRST_RUN = {"n": 11, "right": 9, "hi_wrong": 0, "rules_right": 7, "rules_hi_wrong": 0, "unknown": 2}
# Batch 91 (95 logs, 12 categories, gathered the same way with a new session's search budget), run once against batch
# 90's wordings and the model retrained with batches 88 and 89 (FREEZE91). Freeze 90's code: 64/95 too; freeze 20's
# 58/95, freeze 13's 55/95.
FREEZE91 = "80fae8f"
BATCH91_FIRST_RUN = {"n": 95, "right": 64, "hi_wrong": 2, "rules_right": 56, "rules_hi_wrong": 2, "unknown": 15}
# Batch 92 (71 logs, 12 categories, gathered the same way with the rest of the same session's search budget after
# batch 91's wordings and the model retrained with batches 90 and 91), run once against them (FREEZE92). Freeze 91's
# code: 47/71; batch 91's wordings with the model before that retraining (f95d236) 48/71; freeze 20's 40/71, freeze
# 13's 35/71.
FREEZE92 = "710c65a"
BATCH92_FIRST_RUN = {"n": 71, "right": 49, "hi_wrong": 0, "rules_right": 36, "rules_hi_wrong": 0, "unknown": 7}
# Batch 7's decisive lines, labelled blind after its classification run, first checked against the extractor
# as frozen at FREEZE7: inside the excerpt of the log alone / of the log buried between noise lines.
BATCH7_DECISIVE_FIRST_RUN = {"n": 112, "plain": 99, "buried": 96}
# Batch 8's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE8.
BATCH8_DECISIVE_FIRST_RUN = {"n": 112, "plain": 105, "buried": 95}
# Batch 9's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE9.
BATCH9_DECISIVE_FIRST_RUN = {"n": 143, "plain": 127, "buried": 111}
# Batch 10's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE10.
# Its labellers kept the line's indentation, which the excerpt drops from a single-line block: compared with the
# line's edges trimmed (as every batch is now) 101 / 95; compared byte for byte, as batches 7-9 were, 97 / 91.
# Batches 7-9 give the same figures either way.
BATCH10_DECISIVE_FIRST_RUN = {"n": 103, "plain": 101, "buried": 95}
# Batch 11's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE11.
BATCH11_DECISIVE_FIRST_RUN = {"n": 57, "plain": 54, "buried": 52}
# Batch 12's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE12.
BATCH12_DECISIVE_FIRST_RUN = {"n": 50, "plain": 47, "buried": 46}
# Batch 13's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE13.
BATCH13_DECISIVE_FIRST_RUN = {"n": 99, "plain": 92, "buried": 78}
# Batch 14's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE14
# (the code before freeze 14's excerpt change gives 73 / 72).
BATCH14_DECISIVE_FIRST_RUN = {"n": 77, "plain": 76, "buried": 75}
# Batch 15's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE15
# (freeze 14's code gives 54 / 51: its wrong answer on an npm log showed the block whose neighbour is the line).
BATCH15_DECISIVE_FIRST_RUN = {"n": 55, "plain": 53, "buried": 51}
# Batch 16's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE16.
BATCH16_DECISIVE_FIRST_RUN = {"n": 77, "plain": 76, "buried": 69}
# Batch 17's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE17.
BATCH17_DECISIVE_FIRST_RUN = {"n": 67, "plain": 64, "buried": 61}
# Batch 18's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE18.
BATCH18_DECISIVE_FIRST_RUN = {"n": 82, "plain": 80, "buried": 73}
# Batch 19's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE19.
BATCH19_DECISIVE_FIRST_RUN = {"n": 63, "plain": 58, "buried": 53}
# Batch 20's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE20
# (the extractor before the excerpt change, 7de9412, gives 111 / 99).
BATCH20_DECISIVE_FIRST_RUN = {"n": 114, "plain": 113, "buried": 106}
# Batch 21's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE21.
BATCH21_DECISIVE_FIRST_RUN = {"n": 32, "plain": 32, "buried": 28}
# Batch 22's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE22
# (freeze 21's extractor gives the same).
BATCH22_DECISIVE_FIRST_RUN = {"n": 98, "plain": 97, "buried": 90}
# Batch 23's decisive lines, labelled blind before any run, checked once against the extractor frozen at FREEZE23.
BATCH23_DECISIVE_FIRST_RUN = {"n": 67, "plain": 67, "buried": 64}
# Batches 24's to 49's, the same way at FREEZE24 to FREEZE49.
BATCH24_DECISIVE_FIRST_RUN = {"n": 29, "plain": 29, "buried": 26}
BATCH25_DECISIVE_FIRST_RUN = {"n": 81, "plain": 81, "buried": 77}
BATCH26_DECISIVE_FIRST_RUN = {"n": 100, "plain": 100, "buried": 94}
BATCH27_DECISIVE_FIRST_RUN = {"n": 74, "plain": 73, "buried": 71}
BATCH28_DECISIVE_FIRST_RUN = {"n": 103, "plain": 102, "buried": 94}
BATCH29_DECISIVE_FIRST_RUN = {"n": 45, "plain": 45, "buried": 43}
BATCH30_DECISIVE_FIRST_RUN = {"n": 97, "plain": 97, "buried": 91}
BATCH31_DECISIVE_FIRST_RUN = {"n": 50, "plain": 50, "buried": 46}
BATCH32_DECISIVE_FIRST_RUN = {"n": 86, "plain": 85, "buried": 84}
BATCH33_DECISIVE_FIRST_RUN = {"n": 76, "plain": 76, "buried": 69}
BATCH34_DECISIVE_FIRST_RUN = {"n": 100, "plain": 99, "buried": 91}
BATCH35_DECISIVE_FIRST_RUN = {"n": 49, "plain": 49, "buried": 48}
BATCH36_DECISIVE_FIRST_RUN = {"n": 94, "plain": 92, "buried": 84}
BATCH37_DECISIVE_FIRST_RUN = {"n": 70, "plain": 70, "buried": 64}
BATCH38_DECISIVE_FIRST_RUN = {"n": 97, "plain": 96, "buried": 91}
BATCH39_DECISIVE_FIRST_RUN = {"n": 47, "plain": 46, "buried": 43}
BATCH40_DECISIVE_FIRST_RUN = {"n": 22, "plain": 22, "buried": 22}
BATCH41_DECISIVE_FIRST_RUN = {"n": 85, "plain": 85, "buried": 81}
BATCH42_DECISIVE_FIRST_RUN = {"n": 67, "plain": 67, "buried": 66}
BATCH43_DECISIVE_FIRST_RUN = {"n": 29, "plain": 29, "buried": 29}
BATCH44_DECISIVE_FIRST_RUN = {"n": 130, "plain": 129, "buried": 126}
BATCH45_DECISIVE_FIRST_RUN = {"n": 23, "plain": 23, "buried": 23}
BATCH46_DECISIVE_FIRST_RUN = {"n": 108, "plain": 108, "buried": 107}
BATCH47_DECISIVE_FIRST_RUN = {"n": 34, "plain": 33, "buried": 31}
BATCH48_DECISIVE_FIRST_RUN = {"n": 107, "plain": 107, "buried": 107}
BATCH49_DECISIVE_FIRST_RUN = {"n": 34, "plain": 33, "buried": 33}
BATCH50_DECISIVE_FIRST_RUN = {"n": 103, "plain": 103, "buried": 100}
BATCH51_DECISIVE_FIRST_RUN = {"n": 33, "plain": 33, "buried": 33}
BATCH52_DECISIVE_FIRST_RUN = {"n": 100, "plain": 98, "buried": 98}
BATCH53_DECISIVE_FIRST_RUN = {"n": 31, "plain": 31, "buried": 31}
BATCH54_DECISIVE_FIRST_RUN = {"n": 81, "plain": 81, "buried": 80}
BATCH55_DECISIVE_FIRST_RUN = {"n": 30, "plain": 30, "buried": 30}
BATCH56_DECISIVE_FIRST_RUN = {"n": 16, "plain": 16, "buried": 16}
BATCH57_DECISIVE_FIRST_RUN = {"n": 106, "plain": 106, "buried": 106}
BATCH58_DECISIVE_FIRST_RUN = {"n": 39, "plain": 39, "buried": 39}
BATCH59_DECISIVE_FIRST_RUN = {"n": 14, "plain": 14, "buried": 14}
BATCH60_DECISIVE_FIRST_RUN = {"n": 99, "plain": 99, "buried": 98}
BATCH61_DECISIVE_FIRST_RUN = {"n": 54, "plain": 54, "buried": 54}
BATCH62_DECISIVE_FIRST_RUN = {"n": 99, "plain": 99, "buried": 97}
BATCH63_DECISIVE_FIRST_RUN = {"n": 27, "plain": 27, "buried": 27}
BATCH64_DECISIVE_FIRST_RUN = {"n": 109, "plain": 108, "buried": 108}
BATCH65_DECISIVE_FIRST_RUN = {"n": 25, "plain": 25, "buried": 25}
BATCH66_DECISIVE_FIRST_RUN = {"n": 101, "plain": 101, "buried": 99}
BATCH67_DECISIVE_FIRST_RUN = {"n": 27, "plain": 27, "buried": 27}
BATCH68_DECISIVE_FIRST_RUN = {"n": 94, "plain": 94, "buried": 93}
BATCH69_DECISIVE_FIRST_RUN = {"n": 43, "plain": 42, "buried": 41}
BATCH70_DECISIVE_FIRST_RUN = {"n": 83, "plain": 83, "buried": 81}
BATCH71_DECISIVE_FIRST_RUN = {"n": 41, "plain": 41, "buried": 41}
BATCH72_DECISIVE_FIRST_RUN = {"n": 16, "plain": 16, "buried": 16}
BATCH73_DECISIVE_FIRST_RUN = {"n": 86, "plain": 85, "buried": 85}
BATCH74_DECISIVE_FIRST_RUN = {"n": 27, "plain": 27, "buried": 27}
BATCH75_DECISIVE_FIRST_RUN = {"n": 9, "plain": 9, "buried": 9}
BATCH76_DECISIVE_FIRST_RUN = {"n": 117, "plain": 117, "buried": 117}
BATCH77_DECISIVE_FIRST_RUN = {"n": 31, "plain": 31, "buried": 31}
BATCH78_DECISIVE_FIRST_RUN = {"n": 92, "plain": 92, "buried": 92}
BATCH79_DECISIVE_FIRST_RUN = {"n": 26, "plain": 26, "buried": 26}
BATCH80_DECISIVE_FIRST_RUN = {"n": 95, "plain": 95, "buried": 93}
BATCH81_DECISIVE_FIRST_RUN = {"n": 59, "plain": 59, "buried": 59}
BATCH82_DECISIVE_FIRST_RUN = {"n": 92, "plain": 91, "buried": 91}
BATCH83_DECISIVE_FIRST_RUN = {"n": 69, "plain": 69, "buried": 68}
BATCH84_DECISIVE_FIRST_RUN = {"n": 94, "plain": 94, "buried": 93}
BATCH85_DECISIVE_FIRST_RUN = {"n": 56, "plain": 55, "buried": 55}
BATCH86_DECISIVE_FIRST_RUN = {"n": 92, "plain": 92, "buried": 92}
BATCH87_DECISIVE_FIRST_RUN = {"n": 60, "plain": 60, "buried": 59}
BATCH88_DECISIVE_FIRST_RUN = {"n": 94, "plain": 94, "buried": 94}
BATCH89_DECISIVE_FIRST_RUN = {"n": 51, "plain": 50, "buried": 50}
BATCH90_DECISIVE_FIRST_RUN = {"n": 11, "plain": 11, "buried": 11}
BATCH91_DECISIVE_FIRST_RUN = {"n": 95, "plain": 95, "buried": 92}
BATCH92_DECISIVE_FIRST_RUN = {"n": 71, "plain": 71, "buried": 70}

# Each fresh batch's first run and first decisive-line check, by batch number: what the tables, the README figures
# and record_first_runs.py read.
FIRST_RUNS = {
    4: BATCH4_FIRST_RUN,
    5: BATCH5_FIRST_RUN,
    6: BATCH6_FIRST_RUN,
    7: BATCH7_FIRST_RUN,
    8: BATCH8_FIRST_RUN,
    9: BATCH9_FIRST_RUN,
    10: BATCH10_FIRST_RUN,
    11: BATCH11_FIRST_RUN,
    12: BATCH12_FIRST_RUN,
    13: BATCH13_FIRST_RUN,
    14: BATCH14_FIRST_RUN,
    15: BATCH15_FIRST_RUN,
    16: BATCH16_FIRST_RUN,
    17: BATCH17_FIRST_RUN,
    18: BATCH18_FIRST_RUN,
    19: BATCH19_FIRST_RUN,
    20: BATCH20_FIRST_RUN,
    21: BATCH21_FIRST_RUN,
    22: BATCH22_FIRST_RUN,
    23: BATCH23_FIRST_RUN,
    24: BATCH24_FIRST_RUN,
    25: BATCH25_FIRST_RUN,
    26: BATCH26_FIRST_RUN,
    27: BATCH27_FIRST_RUN,
    28: BATCH28_FIRST_RUN,
    29: BATCH29_FIRST_RUN,
    30: BATCH30_FIRST_RUN,
    31: BATCH31_FIRST_RUN,
    32: BATCH32_FIRST_RUN,
    33: BATCH33_FIRST_RUN,
    34: BATCH34_FIRST_RUN,
    35: BATCH35_FIRST_RUN,
    36: BATCH36_FIRST_RUN,
    37: BATCH37_FIRST_RUN,
    38: BATCH38_FIRST_RUN,
    39: BATCH39_FIRST_RUN,
    40: BATCH40_FIRST_RUN,
    41: BATCH41_FIRST_RUN,
    42: BATCH42_FIRST_RUN,
    43: BATCH43_FIRST_RUN,
    44: BATCH44_FIRST_RUN,
    45: BATCH45_FIRST_RUN,
    46: BATCH46_FIRST_RUN,
    47: BATCH47_FIRST_RUN,
    48: BATCH48_FIRST_RUN,
    49: BATCH49_FIRST_RUN,
    50: BATCH50_FIRST_RUN,
    51: BATCH51_FIRST_RUN,
    52: BATCH52_FIRST_RUN,
    53: BATCH53_FIRST_RUN,
    54: BATCH54_FIRST_RUN,
    55: BATCH55_FIRST_RUN,
    56: BATCH56_FIRST_RUN,
    57: BATCH57_FIRST_RUN,
    58: BATCH58_FIRST_RUN,
    59: BATCH59_FIRST_RUN,
    60: BATCH60_FIRST_RUN,
    61: BATCH61_FIRST_RUN,
    62: BATCH62_FIRST_RUN,
    63: BATCH63_FIRST_RUN,
    64: BATCH64_FIRST_RUN,
    65: BATCH65_FIRST_RUN,
    66: BATCH66_FIRST_RUN,
    67: BATCH67_FIRST_RUN,
    68: BATCH68_FIRST_RUN,
    69: BATCH69_FIRST_RUN,
    70: BATCH70_FIRST_RUN,
    71: BATCH71_FIRST_RUN,
    72: BATCH72_FIRST_RUN,
    73: BATCH73_FIRST_RUN,
    74: BATCH74_FIRST_RUN,
    75: BATCH75_FIRST_RUN,
    76: BATCH76_FIRST_RUN,
    77: BATCH77_FIRST_RUN,
    78: BATCH78_FIRST_RUN,
    79: BATCH79_FIRST_RUN,
    80: BATCH80_FIRST_RUN,
    81: BATCH81_FIRST_RUN,
    82: BATCH82_FIRST_RUN,
    83: BATCH83_FIRST_RUN,
    84: BATCH84_FIRST_RUN,
    85: BATCH85_FIRST_RUN,
    86: BATCH86_FIRST_RUN,
    87: BATCH87_FIRST_RUN,
    88: BATCH88_FIRST_RUN,
    89: BATCH89_FIRST_RUN,
    90: BATCH90_FIRST_RUN,
    91: BATCH91_FIRST_RUN,
    92: BATCH92_FIRST_RUN,
}
DECISIVE_FIRST_RUNS = {
    7: BATCH7_DECISIVE_FIRST_RUN,
    8: BATCH8_DECISIVE_FIRST_RUN,
    9: BATCH9_DECISIVE_FIRST_RUN,
    10: BATCH10_DECISIVE_FIRST_RUN,
    11: BATCH11_DECISIVE_FIRST_RUN,
    12: BATCH12_DECISIVE_FIRST_RUN,
    13: BATCH13_DECISIVE_FIRST_RUN,
    14: BATCH14_DECISIVE_FIRST_RUN,
    15: BATCH15_DECISIVE_FIRST_RUN,
    16: BATCH16_DECISIVE_FIRST_RUN,
    17: BATCH17_DECISIVE_FIRST_RUN,
    18: BATCH18_DECISIVE_FIRST_RUN,
    19: BATCH19_DECISIVE_FIRST_RUN,
    20: BATCH20_DECISIVE_FIRST_RUN,
    21: BATCH21_DECISIVE_FIRST_RUN,
    22: BATCH22_DECISIVE_FIRST_RUN,
    23: BATCH23_DECISIVE_FIRST_RUN,
    24: BATCH24_DECISIVE_FIRST_RUN,
    25: BATCH25_DECISIVE_FIRST_RUN,
    26: BATCH26_DECISIVE_FIRST_RUN,
    27: BATCH27_DECISIVE_FIRST_RUN,
    28: BATCH28_DECISIVE_FIRST_RUN,
    29: BATCH29_DECISIVE_FIRST_RUN,
    30: BATCH30_DECISIVE_FIRST_RUN,
    31: BATCH31_DECISIVE_FIRST_RUN,
    32: BATCH32_DECISIVE_FIRST_RUN,
    33: BATCH33_DECISIVE_FIRST_RUN,
    34: BATCH34_DECISIVE_FIRST_RUN,
    35: BATCH35_DECISIVE_FIRST_RUN,
    36: BATCH36_DECISIVE_FIRST_RUN,
    37: BATCH37_DECISIVE_FIRST_RUN,
    38: BATCH38_DECISIVE_FIRST_RUN,
    39: BATCH39_DECISIVE_FIRST_RUN,
    40: BATCH40_DECISIVE_FIRST_RUN,
    41: BATCH41_DECISIVE_FIRST_RUN,
    42: BATCH42_DECISIVE_FIRST_RUN,
    43: BATCH43_DECISIVE_FIRST_RUN,
    44: BATCH44_DECISIVE_FIRST_RUN,
    45: BATCH45_DECISIVE_FIRST_RUN,
    46: BATCH46_DECISIVE_FIRST_RUN,
    47: BATCH47_DECISIVE_FIRST_RUN,
    48: BATCH48_DECISIVE_FIRST_RUN,
    49: BATCH49_DECISIVE_FIRST_RUN,
    50: BATCH50_DECISIVE_FIRST_RUN,
    51: BATCH51_DECISIVE_FIRST_RUN,
    52: BATCH52_DECISIVE_FIRST_RUN,
    53: BATCH53_DECISIVE_FIRST_RUN,
    54: BATCH54_DECISIVE_FIRST_RUN,
    55: BATCH55_DECISIVE_FIRST_RUN,
    56: BATCH56_DECISIVE_FIRST_RUN,
    57: BATCH57_DECISIVE_FIRST_RUN,
    58: BATCH58_DECISIVE_FIRST_RUN,
    59: BATCH59_DECISIVE_FIRST_RUN,
    60: BATCH60_DECISIVE_FIRST_RUN,
    61: BATCH61_DECISIVE_FIRST_RUN,
    62: BATCH62_DECISIVE_FIRST_RUN,
    63: BATCH63_DECISIVE_FIRST_RUN,
    64: BATCH64_DECISIVE_FIRST_RUN,
    65: BATCH65_DECISIVE_FIRST_RUN,
    66: BATCH66_DECISIVE_FIRST_RUN,
    67: BATCH67_DECISIVE_FIRST_RUN,
    68: BATCH68_DECISIVE_FIRST_RUN,
    69: BATCH69_DECISIVE_FIRST_RUN,
    70: BATCH70_DECISIVE_FIRST_RUN,
    71: BATCH71_DECISIVE_FIRST_RUN,
    72: BATCH72_DECISIVE_FIRST_RUN,
    73: BATCH73_DECISIVE_FIRST_RUN,
    74: BATCH74_DECISIVE_FIRST_RUN,
    75: BATCH75_DECISIVE_FIRST_RUN,
    76: BATCH76_DECISIVE_FIRST_RUN,
    77: BATCH77_DECISIVE_FIRST_RUN,
    78: BATCH78_DECISIVE_FIRST_RUN,
    79: BATCH79_DECISIVE_FIRST_RUN,
    80: BATCH80_DECISIVE_FIRST_RUN,
    81: BATCH81_DECISIVE_FIRST_RUN,
    82: BATCH82_DECISIVE_FIRST_RUN,
    83: BATCH83_DECISIVE_FIRST_RUN,
    84: BATCH84_DECISIVE_FIRST_RUN,
    85: BATCH85_DECISIVE_FIRST_RUN,
    86: BATCH86_DECISIVE_FIRST_RUN,
    87: BATCH87_DECISIVE_FIRST_RUN,
    88: BATCH88_DECISIVE_FIRST_RUN,
    89: BATCH89_DECISIVE_FIRST_RUN,
    90: BATCH90_DECISIVE_FIRST_RUN,
    91: BATCH91_DECISIVE_FIRST_RUN,
    92: BATCH92_DECISIVE_FIRST_RUN,
}

OUT: list[str] = []


def emit(line: str = "") -> None:
    print(line)
    OUT.append(line)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    emit("| " + " | ".join(headers) + " |")
    emit("|" + "|".join("---" for _ in headers) + "|")
    for r in rows:
        emit("| " + " | ".join(str(x) for x in r) + " |")
    emit()


# ------------------------------------------------------------------------------------------------
# noise
# ------------------------------------------------------------------------------------------------

_WORDS = ("rows", "batch", "partition", "chunk", "file", "segment", "offset", "records", "bytes", "keys")


def noise_lines(n: int, seed: int = 7, with_warnings: bool = True) -> list[str]:
    """Ordinary log lines in the formats the corpus uses (Airflow, log4j, dbt, JSON)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        k = rnd.random()
        w = rnd.choice(_WORDS)
        if k < 0.45:
            out.append(
                f"[2024-05-02, 03:{(i // 60) % 60:02d}:{i % 60:02d} UTC] {{worker.py:{100 + i % 7}}} INFO - "
                f"processed {w} {i} with {rnd.randint(1, 99999)} items in {rnd.randint(1, 999)} ms\n"
            )
        elif k < 0.8:
            out.append(
                f"24/03/18 10:{(i // 60) % 60:02d}:{i % 60:02d} INFO BlockManagerInfo: Added broadcast_{i}_piece0 "
                f"in memory on 10.1.{i % 250}.{rnd.randint(1, 250)}:{rnd.randint(30000, 60000)} "
                f"(size: {rnd.randint(1, 99)}.{rnd.randint(0, 9)} KiB, free: 2.{rnd.randint(0, 9)} GiB)\n"
            )
        elif k < 0.9:
            out.append(
                json.dumps(
                    {
                        "timestamp": f"2025-05-04T09:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 999:06d}Z",
                        "level": "info",
                        "event": f"Loaded {rnd.randint(1, 500)} {w} from stage",
                        "logger": "task",
                    }
                )
                + "\n"
            )
        elif k < 0.97 or not with_warnings:
            out.append(
                f"09:14:{i % 60:02d}  {i % 40 + 1} of 40 OK created sql view model staging.m_{i % 40} [OK in 0.2s]\n"
            )
        else:
            out.append(
                f"[2024-05-02, 03:{(i // 60) % 60:02d}:{i % 60:02d} UTC] {{http.py:88}} WARNING - "
                f"slow response from upstream api ({rnd.randint(2, 9)}s), retrying {w} request\n"
            )
    return out


# ------------------------------------------------------------------------------------------------
# 1. classification
# ------------------------------------------------------------------------------------------------

_BASELINE_KEYWORDS = [
    ("oom", ("outofmemory", "out of memory", "memoryerror", "heap space", "oomkilled", "exceeding memory")),
    ("permission_denied", ("accessdenied", "access denied", "permission denied", "forbidden", "403")),
    ("credentials", ("credential", "password authentication", "expiredtoken", "unauthorized", "401")),
    ("upstream_missing", ("no such file", "not found", "does not exist", "nosuchkey")),
    ("schema_mismatch", ("column", "schema", "cannot resolve")),
    ("data_quality", ("duplicate key", "constraint", "validation", "test failed")),
    ("dependency", ("no module named", "importerror", "nosuchmethod", "classnotfound")),
    ("transient_network", ("connection refused", "connection reset", "timed out", "unreachable")),
    ("throttled", ("throttl", "rate exceeded", "429", "slowdown")),
    ("timeout", ("timeout",)),
    ("resource_exhausted", ("no space left", "too many open files", "quota")),
    ("killed_external", ("sigterm", "sigkill", "zombie", "killed")),
    ("kafka_consumer", ("commitfailed", "rebalanc", "offsetoutofrange")),
    ("code_bug", ("keyerror", "typeerror", "valueerror", "attributeerror", "nullpointer")),
]


def baseline_classify(text: str) -> str:
    """Naive baseline: the first keyword group found in the last 'error-looking' line, else the text."""
    lines = [x for x in text.splitlines() if re.search(r"error|exception|fail|fatal", x, re.I)]
    for probe in ([lines[-1]] if lines else []) + [text]:
        low = probe.lower()
        for cat, kws in _BASELINE_KEYWORDS:
            if any(k in low for k in kws):
                return cat
    return "unknown"


def _fresh_batches(per_batch: dict[int, list[int]]) -> list[str]:
    """How batches 4-9 were gathered and first run (fixed facts), with today's figures beside them."""
    fr4, fr5 = BATCH4_FIRST_RUN, BATCH5_FIRST_RUN
    b4 = per_batch.get(4, [0, 0, 0, 0, 0, 0])
    out = [
        f"Batch 4 ({fr4['n']} threads from bench/data/fresh_batch4.yaml, 64 repositories, all 14 categories) was "
        "gathered after the rules were frozen at commit 2117822 and labelled from each thread's conclusion before "
        f"any run. **First run: {fr4['right']}/{fr4['n']} ({fr4['right'] / fr4['n']:.1%}), {fr4['hi_wrong']} wrong "
        f"at >= 0.8 ({fr4['hi_wrong'] / fr4['n']:.1%})** - the honest held-out figure. Tuned (after the general gaps "
        f"it showed were closed), rules alone: {b4[4]}/{b4[0]}; with the model, which was later trained on it too: "
        f"{b4[1]}/{b4[0]}. The gaps: "
        "BigQuery's 403 `Exceeded rate limits` read as permission (a rate-limit reason now vetoes permission), "
        "`Rate limits hit`, a JSON `jobRateLimitExceeded` body, PostgreSQL's `remaining connection slots` without an "
        "error word, Kafka `Fetch offset N is out of range` at INFO, AWS Batch `Host EC2 Terminated`, BigQuery "
        "`Not found: Table`, `has changed mode from REQUIRED to NULLABLE` and `Provided Schema does not match`, a "
        "Snowflake timeout message with a stray quote, a tab-indented traceback, and ties between two capped "
        "text-only rules now going to the rule with the higher confidence of its own.",
    ]
    if fr5["n"]:
        b5 = per_batch.get(5, [0, 0, 0, 0, 0, 0])
        out.append(
            f"Batch 5 ({fr5['n']} threads from bench/data/fresh_batch5.yaml, none in batches 1-4 or the training "
            f"corpus) was gathered after the rules and the learned model were frozen at commit {FREEZE5}, and labelled "
            "from each thread's conclusion and committed before any run. **First run, rules + model: "
            f"{fr5['right']}/{fr5['n']} ({fr5['right'] / fr5['n']:.1%}), {fr5['hi_wrong']} wrong at >= 0.8 "
            f"({fr5['hi_wrong'] / fr5['n']:.1%})**; the rules alone in the same run: {fr5['rules_right']}/{fr5['n']} "
            f"({fr5['rules_right'] / fr5['n']:.1%}), {fr5['rules_hi_wrong']} wrong at >= 0.8. Today: "
            f"{b5[1]}/{b5[0]} with the model, {b5[4]}/{b5[0]} with the rules alone (the model is now trained on it)."
        )
    fr6, b6 = BATCH6_FIRST_RUN, per_batch.get(6, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 6 ({fr6['n']} threads from bench/data/fresh_batch6.yaml, 8 per category, 103 repositories, none in "
        "batches 1-5 or the training corpus) was gathered by two collectors who never ran the classifier nor read its "
        "rules, while the training corpus grew by 303 logs gathered the same way by others; it was committed before "
        f"any run and first run once against the rules and the retrained model frozen at commit {FREEZE6}. "
        f"**First run, rules + model: {fr6['right']}/{fr6['n']} ({fr6['right'] / fr6['n']:.1%}), {fr6['hi_wrong']} "
        f"wrong at >= 0.8 ({fr6['hi_wrong'] / fr6['n']:.1%}), {fr6['unknown']} unknown**; the rules alone in the "
        f"same run: {fr6['rules_right']}/{fr6['n']} ({fr6['rules_right'] / fr6['n']:.1%}), {fr6['rules_hi_wrong']} "
        f"wrong at >= 0.8. After that run its misses were studied (issue 12) and it joined the model's training data: "
        "the rules now accept families of phrasing it and the training corpus showed (cloud quota and capacity "
        "messages, Google per-window quota metrics, PostgreSQL class-22 value errors and malformed CSV as loaders "
        "report them, JDBC/Hadoop/glibc dependency misses, Kubernetes/SLURM/CI time limits, node scale-down, spot "
        "and eviction lines, Kafka group-protocol errors as each client words them), and a log in which no error "
        "line is found is classified by its last lines instead of answering unknown outright. Today (tuned, "
        f"in-sample for the model): {b6[1]}/{b6[0]} with the model, {b6[4]}/{b6[0]} with the rules alone."
    )
    fr7, b7 = BATCH7_FIRST_RUN, per_batch.get(7, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 7 ({fr7['n']} threads from bench/data/fresh_batch7.yaml, 8 per category, 100 repositories, none in "
        "batches 1-6 or the training corpus) was gathered by two collectors who never ran the classifier nor read its "
        "rules or the earlier batches; two reviewers under the same rules then replaced the 9 cases whose thread did "
        "not state the cause. It was committed after the rules and the model (retrained with batch 6) were frozen at "
        f"commit {FREEZE7}, and first run once against them. **First run, rules + model: {fr7['right']}/{fr7['n']} "
        f"({fr7['right'] / fr7['n']:.1%}), {fr7['hi_wrong']} wrong at >= 0.8 ({fr7['hi_wrong'] / fr7['n']:.1%}), "
        f"{fr7['unknown']} unknown**; the rules alone in the same run: {fr7['rules_right']}/{fr7['n']} "
        f"({fr7['rules_right'] / fr7['n']:.1%}), {fr7['rules_hi_wrong']} wrong at >= 0.8. After that run its 21 "
        "misses were studied (issue 12) and it joined the model's training data: the rules now accept families of "
        "phrasing it showed (cloud metadata termination and spot/preemption notices, Google Pipelines' preemption "
        "code, pip/poetry/uv/npm build and resolver failures, SQLSTATE class-08 connection errors, MySQL 1045 and "
        "Oracle ORA-01017 logins as credentials rather than permission, Dataflow's named quotas and `df` at 100% as "
        "resource exhaustion, Iceberg/Parquet write and type refusals as schema mismatch, duplicate-row errors, "
        "botocore's not-found codes, workflow max-duration limits, a notebook-rendered MemoryError and dask's "
        "KilledWorker as a capped guess at OOM), and a dbt error whose message lost its indent is read with its "
        f"header. Today (tuned, in-sample for the model): {b7[1]}/{b7[0]} with the model, {b7[4]}/{b7[0]} with the "
        "rules alone."
    )
    fr8, b8 = BATCH8_FIRST_RUN, per_batch.get(8, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 8 ({fr8['n']} threads from bench/data/fresh_batch8.yaml, 8 per category, 107 repositories, none in "
        "batches 1-7 or the training corpus) was gathered under a stricter brief (only threads whose conclusion the "
        "collector saw) by two collectors who never ran the classifier nor read its rules; two reviewers then "
        "replaced 11 cases whose thread did not state the cause or whose log was only the issue's title. It was "
        f"committed after the rules and the model (retrained with batch 7) were frozen at commit {FREEZE8}, and "
        f"first run once against them. **First run, rules + model: {fr8['right']}/{fr8['n']} "
        f"({fr8['right'] / fr8['n']:.1%}), {fr8['hi_wrong']} wrong at >= 0.8 ({fr8['hi_wrong'] / fr8['n']:.1%}), "
        f"{fr8['unknown']} unknown**; the rules alone in the same run: {fr8['rules_right']}/{fr8['n']} "
        f"({fr8['rules_right'] / fr8['n']:.1%}), {fr8['rules_hi_wrong']} wrong at >= 0.8. After that run its misses "
        "were studied (issue 12) and it joined the model's training data: Go panics, C++ uncaught exceptions and CI "
        "runners' `##[error]` marks are error lines, a shell's bare `Killed` is a capped guess at OOM, "
        "KubernetesPodOperator relay lines are read as the container's own, AWS credential codes inside an error "
        "body, SASL failures, SQLSTATE 22003 and JSON parse refusals as data quality, Snowflake column type changes, "
        "CI job limits, SLURM cancellations and Kafka offsets behind retention are recognised. Today (tuned, "
        f"in-sample for the model): {b8[1]}/{b8[0]} with the model, {b8[4]}/{b8[0]} with the rules alone."
    )
    fr9, b9 = BATCH9_FIRST_RUN, per_batch.get(9, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 9 ({fr9['n']} threads from bench/data/fresh_batch9.yaml, all 14 categories, 138 repositories, none in "
        "batches 1-8 or the training corpus) was gathered in two rounds by four collectors who never ran the "
        "classifier nor read its rules, under batch 8's brief; three reviewers removed or replaced the cases whose "
        "thread did not state the cause. The second round was meant as a batch of its own, but the search index ran "
        "short of unused threads with a stated cause, so its 44 cases joined this one and the categories are uneven "
        "(2 to 16 cases). It was committed after the rules and the model (retrained with batch 8) were frozen at "
        f"commit {FREEZE9}, and first run once against them. **First run, rules + model: {fr9['right']}/{fr9['n']} "
        f"({fr9['right'] / fr9['n']:.1%}), {fr9['hi_wrong']} wrong at >= 0.8 ({fr9['hi_wrong'] / fr9['n']:.1%}), "
        f"{fr9['unknown']} unknown**; the rules alone in the same run: {fr9['rules_right']}/{fr9['n']} "
        f"({fr9['rules_right'] / fr9['n']:.1%}), {fr9['rules_hi_wrong']} wrong at >= 0.8. After that run its misses "
        "were studied and it joined the model's training data: a line that states a failure without an error word "
        "anywhere in the log (a note) is asked of the rules when the error blocks and the last words explain "
        "nothing; klog prefixes give the level; BashOperator relay lines are read as the command's own; Terraform "
        "and Nextflow details after a blank line belong to their error; a line naming a specific reason outranks "
        "the exit code beside it; registries' token refusals, resolvers' and toolchains' version floors, COPY "
        "row/table shape errors, Azure Storage's ServerBusy, HDFS item limits, CI and scheduler time limits "
        "(Jenkins, CircleCI, LSF, Nextflow, Helm waits) and CI concurrency cancellations are recognised. Today "
        f"(tuned, in-sample for the model): {b9[1]}/{b9[0]} with the model, {b9[4]}/{b9[0]} with the rules alone."
    )
    fr10, b10 = BATCH10_FIRST_RUN, per_batch.get(10, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 10 ({fr10['n']} threads from bench/data/fresh_batch10.yaml, all 14 categories with 5 to 8 cases each, "
        "102 repositories, none in batches 1-9 or the training corpus) was gathered by four collectors who never ran "
        "the classifier nor read its rules, each given a share of the categories, under batch 8's brief; four "
        "reviewers opened every thread and dropped 9 cases. Before it was gathered the rules were broadened from the "
        "tools' documented error texts rather than from any batch's misses (a catalogue of 349 canonical messages, "
        "now a unit test) and frozen with the model at commit "
        f"{FREEZE10}. **First run, rules + model: {fr10['right']}/{fr10['n']} ({fr10['right'] / fr10['n']:.1%}), "
        f"{fr10['hi_wrong']} wrong at >= 0.8 ({fr10['hi_wrong'] / fr10['n']:.1%}), {fr10['unknown']} unknown**; the "
        f"rules alone in the same run: {fr10['rules_right']}/{fr10['n']} ({fr10['rules_right'] / fr10['n']:.1%}). "
        "The code before the catalogue scores the same 80/103 on it (rules alone 75): broadening from documentation "
        "gained one case, because the misses are not canonical messages. They were: tools' own wordings no rule "
        "knew (samtools' allocator, PyPI's upload refusal, BigQuery's MERGE, Elasticsearch's mapping conflict, "
        "MySQL's orphan-row check, inotify limits, Auto Scaling terminations, Jenkins agents lost mid-build, Kafka's "
        "INCONSISTENT_GROUP_PROTOCOL), a compiler killed mid-build read as an external kill, a traceback cut right "
        "after its first line losing the error record before it, and 8 whose thread found a cause a level removed "
        "from the log (a bug that surfaces as bad data or a schema error, a schema change that surfaces as a missing "
        "table, exit 137 with no memory evidence). After the run those families were added, a truncated traceback "
        "keeps its error record, and a log without an error block is read by the model too (6 of the first run's "
        "13 unknowns had no block, and the model's top guess was right on all 6), under a threshold of its own "
        "chosen with logs that carry no cause; it joined the model's training data. Today (tuned, in-sample for "
        f"the model): {b10[1]}/{b10[0]} with the model, "
        f"{b10[4]}/{b10[0]} with the rules alone."
    )
    fr11, b11 = BATCH11_FIRST_RUN, per_batch.get(11, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 11 ({fr11['n']} threads from bench/data/fresh_batch11.yaml, all 14 categories with 1 to 6 cases each, "
        f"{fr11['n']} repositories, none in batches 1-10, the training corpus or batch 10's candidates) was gathered "
        "the same way; the collectors found 75 of the 112 cases asked for (the search index is nearly exhausted of "
        "unused threads with a stated cause) and three reviewers dropped 18, 13 of them only because the search "
        "service's budget ran out before they could open the thread. It is small and uneven: a 95% interval on its "
        "first run is about +/- 10 points. It was committed after the rules (tuned on batch 10) and the model (which "
        f"now also reads logs without an error block) were frozen at commit {FREEZE11}. **First run, rules + model: "
        f"{fr11['right']}/{fr11['n']} ({fr11['right'] / fr11['n']:.1%}), {fr11['hi_wrong']} wrong at >= 0.8 "
        f"({fr11['hi_wrong'] / fr11['n']:.1%}), {fr11['unknown']} unknown**; the rules alone in the same run: "
        f"{fr11['rules_right']}/{fr11['n']} ({fr11['rules_right'] / fr11['n']:.1%}). The code before freeze 11 "
        "scores 45/57 on it: the retrained model answered two more logs with an error block, and the no-block "
        "path answered none. Its misses were, again, tools' own wordings (a registry refusing the login probe, "
        "Kafka's UNKNOWN_TOPIC_OR_PARTITION, Maven's and R's package resolution, FastQC's malformed-record "
        "exception, Spark's failing-UDF wrapper, Karpenter deleting nodes) and causes a level removed from the log. "
        f"Those families were added and it joined the model's training data. Today (tuned, in-sample for the "
        f"model): {b11[1]}/{b11[0]} with the model, {b11[4]}/{b11[0]} with the rules alone."
    )
    fr12, b12 = BATCH12_FIRST_RUN, per_batch.get(12, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 12 ({fr12['n']} threads from bench/data/fresh_batch12.yaml, 13 categories with 2 to 6 cases each and "
        f"no kafka_consumer case, {fr12['n']} repositories, none in batches 1-11 or the training corpus) was gathered "
        "the same way by four collectors, who found 51 of the 112 cases asked for; two reviewers searched out every "
        "thread and dropped one. A 95% interval on its first run is about +/- 11 points. Before it, the model was "
        "trained on the catalogue of canonical messages too, and its thresholds were chosen on the earlier batches as "
        "they stood at their first runs (each freeze's rules, a model fitted on what came before), not on logs the "
        f"rules had since been tuned on; rules and model were frozen at commit {FREEZE12}. **First run, rules + "
        f"model: {fr12['right']}/{fr12['n']} ({fr12['right'] / fr12['n']:.1%}), {fr12['hi_wrong']} wrong at >= 0.8, "
        f"{fr12['unknown']} unknown**; the rules alone in the same run: {fr12['rules_right']}/{fr12['n']} "
        f"({fr12['rules_right'] / fr12['n']:.1%}). The code before freeze 12 scores the same 40/50: on this batch "
        "one answer differs (a git 500 answered unknown before is now a wrong guess, credentials at 0.53). Its "
        "misses were tools' own wordings (google-auth's RefreshError named without a traceback, librdkafka's "
        "UnknownTopicOrPartition, a truncated gzip input, "
        "Elasticsearch's MapperParsingException, BigQuery's 'Name X not found inside' a MERGE target, a KeyError as "
        "Snakemake prints it, Python 2's json on a file cut mid-way, git's 'returned error: 500', a Compute Engine "
        "preemption's power-key press) and one cause the log cannot show (an instance shut down under a build, "
        "seen only as Docker's daemon going away). Those families were added and it joined the model's training "
        f"data. Today (tuned, in-sample for the model): {b12[1]}/{b12[0]} with the model, {b12[4]}/{b12[0]} with "
        "the rules alone."
    )
    fr13, b13 = BATCH13_FIRST_RUN, per_batch.get(13, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 13 ({fr13['n']} threads from bench/data/fresh_batch13.yaml, all 14 categories with 4 to 8 cases each, "
        f"{fr13['n']} repositories, none in batches 1-12 or the training corpus) was gathered by four collectors who "
        "were also pointed at forums and Q&A sites (every case they kept is a GitHub thread); four reviewers, one per "
        "collector, found every thread but one and dropped 6 of 105. Before it, the model was refitted with "
        "scikit-learn's logistic regression, its regularisation and thresholds chosen together on the earlier batches "
        "as at their first runs and kept above what it gives text that names no cause (on those batches 79.3% against "
        f"78.3% for freeze 12's model); rules and model were frozen at commit {FREEZE13}. **First run, rules + "
        f"model: {fr13['right']}/{fr13['n']} ({fr13['right'] / fr13['n']:.1%}), {fr13['hi_wrong']} wrong at >= 0.8, "
        f"{fr13['unknown']} unknown**; the rules alone in the same run: {fr13['rules_right']}/{fr13['n']} "
        f"({fr13['rules_right'] / fr13['n']:.1%}). The code before freeze 13 scores 63/99 on it: the refit gained "
        "nothing. The lowest first run since batch 6: 5 of its 8 code_bug cases are a tool's defect surfacing as a "
        "data or schema error (answered data_quality or schema_mismatch), 4 of its 8 oom cases show only a SIGKILL "
        "or a generic exit code, and the rest were tools' own wordings no rule knew (V8's heap-limit GC trace, "
        "GitHub's 'Resource not accessible by integration', a registry's 'manifest unknown', ClickHouse's missing "
        "column, Flink's sink schema, pandas' and Arrow's value errors, a Parquet file without its footer, PySpark's "
        "driver and workers on different Pythons, Travis' no-output limit, Elasticsearch's rejected execution and "
        "flood-stage block, sarama's abandoned subscription, systemd's watchdog, a SIGHUP as exit status 129). Those "
        "families were added and it joined the model's training data. Today (tuned, in-sample for the model): "
        f"{b13[1]}/{b13[0]} with the model, {b13[4]}/{b13[0]} with the rules alone."
    )
    fr14, b14 = BATCH14_FIRST_RUN, per_batch.get(14, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 14 ({fr14['n']} threads from bench/data/fresh_batch14.yaml, 13 categories with 1 to 8 cases each, "
        f"{fr14['n']} repositories, 18 of them also in earlier data with other threads; no thread in batches 1-13 or "
        "the training corpus) was gathered by four collectors under batch 8's brief; they kept 85 of about 535 "
        "threads they looked at, finding no kafka_consumer case and one each of upstream_missing and killed_external "
        "that the index still held with a stated cause. Four reviewers, "
        "one per collector, dropped 7 and relabelled 1; one of two threads from one repository was dropped. Before "
        "it, a rule that only says what an exception type usually means (a bare ValueError is the code's fault) "
        "stopped competing with a rule that explains the failure, and excerpts began to carry the log's lines around "
        f"the error; rules, model and extractor were frozen at commit {FREEZE14}. **First run, rules + model: "
        f"{fr14['right']}/{fr14['n']} ({fr14['right'] / fr14['n']:.1%}), {fr14['hi_wrong']} wrong at >= 0.8, "
        f"{fr14['unknown']} unknown**; the rules alone in the same run: {fr14['rules_right']}/{fr14['n']} "
        f"({fr14['rules_right'] / fr14['n']:.1%}). The best first run so far, but not the code's doing: freeze 13's "
        "code scores 67/77 on it and the code just before freeze 14 66/77, so the batch is easier than batch 13 "
        "(whose first run, re-weighted to batch 14's mix of categories, is 67.3%), and it lacks the categories that "
        "missed most on earlier first runs. Its 11 misses: 6 tools' wordings no rule knew (Gradle's daemon at its "
        "heap limit, npm's expired-token notice behind a 404, Go's go.mod toolchain floor, setup-python without a "
        "build for the runner, Cloud Build's step deadline read as the network, Trino's and STAR's data errors), a Go "
        "panic relayed at DEBUG by Terraform, and 3 a level removed from the log (a source's renamed header as a "
        "KeyError, a library bug as a Kafka commit failure, a no-output limit as a bare interrupt). Those families "
        "were added and it joined the model's training data, whose cause-less set now also holds single error lines "
        "that give no reason. Today (tuned, in-sample for the model): "
        f"{b14[1]}/{b14[0]} with the model, {b14[4]}/{b14[0]} with the rules alone."
    )
    fr15, b15 = BATCH15_FIRST_RUN, per_batch.get(15, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 15 ({fr15['n']} threads from bench/data/fresh_batch15.yaml, all 14 categories with 2 to 6 cases each, "
        f"{fr15['n']} repositories, 14 of them also in earlier data with other threads; no thread in batches 1-14, the "
        "training corpus or among the threads batch 14's collectors looked at) was gathered by four collectors pointed "
        "at Q&A sites and forums as well and at the categories with the fewest cases (every case they kept is a "
        "GitHub thread); they kept 57 of about 380 threads, four reviewers dropped 2 and relabelled 1. It was run "
        f"once against the rules tuned on batch 14 and the model retrained with it, frozen at commit {FREEZE15}. "
        f"**First run, rules + model: {fr15['right']}/{fr15['n']} ({fr15['right'] / fr15['n']:.1%}), "
        f"{fr15['hi_wrong']} wrong at >= 0.8, {fr15['unknown']} unknown**; the rules alone in the same run: "
        f"{fr15['rules_right']}/{fr15['n']} ({fr15['rules_right'] / fr15['n']:.1%}). Freeze 14's code scores the same "
        "47/55 and freeze 13's 46/55: as with batch 14, the figure is the batch's more than the tuning's. Its 8 "
        "misses: 3 causes a level removed (an indexer bug and an extractor's date handling seen as data errors, memory "
        "pressure seen as the runner's shutdown signal), tools' wordings (Apache's 404 page, node csv-parse's quoting "
        "error, npm's 404 on a publish without a token), GitHub's removed password authentication read from the 403 "
        "line below it as an access refusal, and Karpenter's spot interruption printed as pretty JSON with no error "
        "word. The wordings were added after the run (the npm one as a broad credentials rule), the last-resort error "
        "line keeps its neighbours too, and it joined the model's training data. Today (tuned, in-sample for the "
        f"model): {b15[1]}/{b15[0]} with the model, {b15[4]}/{b15[0]} with the rules alone."
    )
    fr16, b16 = BATCH16_FIRST_RUN, per_batch.get(16, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 16 ({fr16['n']} threads from bench/data/fresh_batch16.yaml, all 14 categories with 1 to 8 cases each, "
        f"{fr16['n']} repositories, 16 of them also in earlier data with other threads; no thread in batches 1-15 or "
        "the training corpus) was gathered by four collectors under batch 8's brief, who kept 81 of about 370 threads; "
        "four reviewers dropped 3 (two near-copies of threads already used, one log from a task that had not failed) "
        "and one of two threads from one repository was dropped. Before it the learned model got a class of its own "
        "for text that names no cause, fitted on ordinary log lines and reasonless error lines (its floor set on a "
        "disjoint set in other formats), and began to read the lines around the first error block; under the first "
        "runs' conditions of batches 5-15 that moved 785 right and 102 wrong to 789 and 96. Rules, model and "
        f"extractor were frozen at commit {FREEZE16}. **First run, rules + model: {fr16['right']}/{fr16['n']} "
        f"({fr16['right'] / fr16['n']:.1%}), {fr16['hi_wrong']} wrong at >= 0.8, {fr16['unknown']} unknown**; the "
        f"rules alone in the same run: {fr16['rules_right']}/{fr16['n']} ({fr16['rules_right'] / fr16['n']:.1%}). "
        "The code before freeze 16 scores the same 64/77. Its 13 misses: 3 oom cases seen only as a process killed "
        "or exit 137 in a build step, 3 code_bug cases a level removed (two tools that set no Helm timeout, seen as "
        "'context deadline exceeded'; an adapter regression seen as a Parquet schema mismatch), and tools' wordings "
        "(R's 'cannot allocate vector', DuckDB's Parquet without its footer, dbt Fusion refusing an adapter, "
        "golang-migrate's lock timeout, Travis' no-output limit in its older wording, a fork's 'Resource temporarily "
        "unavailable', a Kafka consumer's offset commit on a deleted topic read as a missing input). Buried in noise, "
        "7 decisive lines were lost: one-line failures with no error word. After the run the wordings the log states "
        "were added (a build step's 137 and bash's report of a killed job as capped guesses at oom), rules can read "
        "the lines around a block (git's `remote:` reason above a bare 403, batch 15's miss), a note is taken from "
        "0.5 rather than 0.6 and its answer must quote it, 'no output' became a trigger word, and it joined the "
        "model's training data. Today (tuned, in-sample for the "
        f"model): {b16[1]}/{b16[0]} with the model, {b16[4]}/{b16[0]} with the rules alone."
    )
    fr17, b17 = BATCH17_FIRST_RUN, per_batch.get(17, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 17 ({fr17['n']} threads from bench/data/fresh_batch17.yaml, all 14 categories with 2 to 8 cases each, "
        f"{fr17['n']} repositories, 10 of them also in earlier data with other threads; no thread in batches 1-16, the "
        "training corpus or among batch 16's kept threads) was gathered by four collectors pointed at less common "
        "ecosystems (R, Go, Rust, Ruby, PHP, HPC schedulers, workflow tools, CI systems), since the obvious threads "
        "are used; they kept 67 of about 600 threads, and four reviewers dropped none (one log was cut to the three "
        "lines its reviewer could confirm). It was run once against the rules tuned on batch 16 and the model "
        f"retrained with it, frozen at commit {FREEZE17}. **First run, rules + model: {fr17['right']}/{fr17['n']} "
        f"({fr17['right'] / fr17['n']:.1%}), {fr17['hi_wrong']} wrong at >= 0.8, {fr17['unknown']} unknown**; the "
        f"rules alone in the same run: {fr17['rules_right']}/{fr17['n']} ({fr17['rules_right'] / fr17['n']:.1%}). "
        "Freeze 16's code scores the same 48/67 and the code before freeze 16 49/67: the tuning on batch 16 gained "
        "nothing here. Its 19 misses were mostly ecosystems no rule had met (Rust's compiler and sccache killed "
        "mid-build, curl's 404 on a release asset alone and under Homebrew, datasets gone from Hugging Face, alembic's "
        "'Target database is not up to date', Python's json on broken documents, R's configure script, Bundler's and "
        "Composer's resolvers, a self-hosted runner lost mid-job, a Rust panic carrying PostgreSQL's 'too many "
        "clients'), and causes a level removed (a missing upstream pipeline seen as an authorization failure, a "
        "column's type seen as a bad value, a provider bug, a Terraform panic). The wordings were added after the run "
        "(and 'EMFILE' and 'ENOSPC' now match only as the errno names: 'Gemfile' had read as too many open files), and "
        "it joined the model's training data. Today (tuned, in-sample for the "
        f"model): {b17[1]}/{b17[0]} with the model, {b17[4]}/{b17[0]} with the rules alone."
    )
    fr18, b18 = BATCH18_FIRST_RUN, per_batch.get(18, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 18 ({fr18['n']} threads from bench/data/fresh_batch18.yaml, all 14 categories with 4 to 7 cases each, "
        f"{fr18['n']} repositories, 25 of them also in earlier data with other threads; no thread in batches 1-17 or "
        "the training corpus) was gathered by five collectors (a fifth searched again for killed_external and "
        "kafka_consumer where the first had not); they kept 89 of 557 threads, and five reviewers dropped 7 (mostly "
        "causes only the reporter stated) and relabelled 1. Before it, the model's threshold for logs without an error "
        "block was chosen as at the batches' first runs, like its other thresholds (0.9 became 0.5); rules, model and "
        f"extractor were frozen at commit {FREEZE18}. **First run, rules + model: {fr18['right']}/{fr18['n']} "
        f"({fr18['right'] / fr18['n']:.1%}), {fr18['hi_wrong']} wrong at >= 0.8, {fr18['unknown']} unknown**; the "
        f"rules alone in the same run: {fr18['rules_right']}/{fr18['n']} ({fr18['rules_right'] / fr18['n']:.1%}). "
        "The code just before that threshold scores 64/82 and freeze 17's code 63/82. Its 16 misses: tools' wordings "
        "(a build's 'Download failed with error 404', a release asset that failed to download, Docker's push denied "
        "after 'Registry credentials not provided' far above it, a FASTQ record without its quality string, Go's "
        "time parsing of MySQL's zero dates, a go.mod toolchain floor above BuildKit's failure line, git's 'unable "
        "to create thread', Lambda's account concurrency floor, Jenkins agents whose machines were terminated or "
        "deleted read as the network from the channel errors after them), a shell's bare 'Killed' read as an "
        "external kill because the rule for a signal without memory evidence outranked the capped guess at oom, a "
        "gRPC deadline the thread settled as a time limit set too short (the rules read a gRPC deadline as the "
        "remote end not answering), and 4 causes a level removed (a typo seen as a missing module, an input deleted "
        "to show a workflow bug, a column added by a newer release seen as a NOT NULL violation, a CSV load's column "
        "count). After the run the rule for a bare signal became a default that any rule explaining the kill "
        "outranks (its copies of those rules' patterns went), the wordings were added where the log states the "
        "cause at its failure (not the download that failed without a reason, the credentials line far above "
        "Docker's denial, nor the FASTQ record), and it joined the model's training "
        f"data. Today (tuned, in-sample for the model): {b18[1]}/{b18[0]} with the model, {b18[4]}/{b18[0]} with the "
        "rules alone."
    )
    fr19, b19 = BATCH19_FIRST_RUN, per_batch.get(19, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 19 ({fr19['n']} threads from bench/data/fresh_batch19.yaml, 13 categories with 3 to 6 cases each "
        f"and no killed_external case, {fr19['n']} repositories, 9 of them also in earlier data with other threads; "
        "no thread in batches 1-18, the training corpus or among those batch 18's collectors looked at) was "
        "gathered by five collectors pointed at less common ecosystems (.NET, Swift, Elixir, CMake builds, Rust, "
        "cloud CLIs); they kept 76 of 451 threads, and five reviewers dropped 13 (5 on the merits, 8 the last "
        "reviewer could not check once the search service's budget ran out). This time collectors and reviewers "
        "reported only counts, so nothing of the cases reached the developer before the run. It was run once "
        f"against the rules tuned on batch 18 and the model retrained with it, frozen at commit {FREEZE19}. **First "
        f"run, rules + model: {fr19['right']}/{fr19['n']} ({fr19['right'] / fr19['n']:.1%}), {fr19['hi_wrong']} "
        f"wrong at >= 0.8, {fr19['unknown']} unknown**; the rules alone in the same run: {fr19['rules_right']}/"
        f"{fr19['n']} ({fr19['rules_right'] / fr19['n']:.1%}). Freeze 18's code and freeze 17's both score 43/63: "
        "the tuning on batch 18 gained 2 here, and the model 11 over the rules alone. Its 18 misses were mostly "
        "ecosystems no rule had met (cargo without a registry token, SwiftPM's and CocoaPods' resolvers, NuGet's "
        "framework check, CMake's find_package, Mix's Elixir floor, Helm's chart download, polars' dtype parse, "
        "GEOS's invalid geometry, timeouts worded by DBConnection, SQL Server and Neptune, a cloud's service "
        "limits, Airflow's check of an operator's arguments, Gradle's nested cause 'Connection reset', swiftc "
        "killed mid-build read as the network from a cleanup line after it) and 2 causes a level removed (a COPY "
        "value from a column of the wrong type, migrations not run seen as a missing relation). 5 decisive lines "
        "were outside the excerpt even alone: tools whose report ends in summary lines below the cause (polars, "
        "CocoaPods, NuGet, CMake, Gradle). The wordings were added after the run where the rules can read them, "
        f"and it joined the model's training data. Today (tuned, in-sample for the model): {b19[1]}/{b19[0]} with "
        f"the model, {b19[4]}/{b19[0]} with the rules alone."
    )
    fr20, b20 = BATCH20_FIRST_RUN, per_batch.get(20, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 20 ({fr20['n']} threads from bench/data/fresh_batch20.yaml, all 14 categories with 3 to 11 cases "
        f"each, {fr20['n']} repositories, 23 of them also in earlier data with other threads; no thread in batches "
        "1-19 or the training corpus) was gathered in two rounds by eight collectors pointed at data-platform and "
        "operations software first (the second round searched the thinnest categories again, skipping every thread "
        "the first had looked at); they kept 126 of 597 threads, and eight reviewers, one per collector, dropped 12 "
        "and relabelled none. Collectors and reviewers reported only counts. Before it, the excerpt was allowed 16 "
        "lines each side of the error block (rules and model still read 4) and notes kept the lines around them in "
        "long logs; rules, model and extractor were frozen at commit "
        f"{FREEZE20}. **First run, rules + model: {fr20['right']}/{fr20['n']} ({fr20['right'] / fr20['n']:.1%}), "
        f"{fr20['hi_wrong']} wrong at >= 0.8, {fr20['unknown']} unknown**; the rules alone in the same run: "
        f"{fr20['rules_right']}/{fr20['n']} ({fr20['rules_right'] / fr20['n']:.1%}). Freeze 19's code scores 95/114 "
        "and the code before the excerpt change (7de9412) 94/114: the tuning on batch 19 gained nothing here, the "
        "model 14 over the rules alone. Decisive lines: 113/114 alone and 106/114 buried at the first run, against 111 "
        "and 99 for the extractor before the excerpt changes. Its 20 misses: 6 causes a level removed (tool and "
        "library bugs seen as a datetime value, an index mapping, a missing column or field, an empty frame; a "
        "source's reordered CSV columns seen as an unpacking error), 2 time limits set too short read as the network "
        "(a deploy's gRPC DEADLINE_EXCEEDED, a client's read timeout), and 12 tools' wordings no rule knew (Jenkins' "
        "Copy Artifact step finding nothing upstream, a cloud agent's 'Node is being removed' and a build "
        "'Superseded by' a newer one, Ansible's async limit, GitHub 'offline for maintenance', a FASTQ read and a "
        "VCF record the parser refused, a date out of an index's range, kafka-node's coordinator error by code, "
        "Ruby's NameError). The wordings were added after the run where the log states the cause, and it joined the "
        f"model's training data. Today (tuned, in-sample for the model): {b20[1]}/{b20[0]} with the model, "
        f"{b20[4]}/{b20[0]} with the rules alone."
    )
    fr21, b21 = BATCH21_FIRST_RUN, per_batch.get(21, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 21 ({fr21['n']} threads from bench/data/fresh_batch21.yaml, 13 categories with 1 to 4 cases each and "
        f"no killed_external case, {fr21['n']} repositories, 11 of them also in earlier data with other threads; no "
        "thread in batches 1-20, the training corpus or among those batch 20's collectors looked at) was gathered "
        "with what was left of the session's search budget by three collectors (36 of 192 threads kept) and three "
        "reviewers (4 dropped), counts only, under batch 20's brief with the timeout and network definitions "
        "reworded to the project's taxonomy. A small batch: about +/- 13 points. It was run once against the rules "
        f"tuned on batch 20 and the model retrained with it, frozen at commit {FREEZE21}. **First run, rules + "
        f"model: {fr21['right']}/{fr21['n']} ({fr21['right'] / fr21['n']:.1%}), {fr21['hi_wrong']} wrong at >= 0.8, "
        f"{fr21['unknown']} unknown**; the rules alone in the same run: {fr21['rules_right']}/{fr21['n']} "
        f"({fr21['rules_right'] / fr21['n']:.1%}); decisive lines 32/32 alone, 28/32 buried. Freeze 20's code scores "
        "the same 26/32. Its 6 misses: tools' wordings (BigQuery's table wildcard matching no table, Travis' older "
        "'your test run exceeded 50.0 minutes', a FASTA file with repeated identifiers) and 3 causes a level removed "
        "(a seed file whose schema changed seen as DuckDB's CSV sniffing failure, invalid JSON Lines seen as Arrow's "
        "row limit, a Kafka client's protocol bug seen as a coordinator error). The wordings were added and it "
        f"joined the model's training data. Today (tuned, in-sample for the model): {b21[1]}/{b21[0]} with the "
        f"model, {b21[4]}/{b21[0]} with the rules alone."
    )
    fr22, b22 = BATCH22_FIRST_RUN, per_batch.get(22, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 22 ({fr22['n']} threads from bench/data/fresh_batch22.yaml, all 14 categories with 2 to 8 cases each, "
        f"{fr22['n']} repositories, 18 of them also in earlier data with other threads; no thread in batches 1-21 or "
        "the training corpus) was gathered by seven collectors, each given a share of the categories (a seventh "
        "searched again for kafka_consumer and killed_external, skipping what the first had looked at); they kept "
        "106 of 652 threads, and seven reviewers dropped 7 and relabelled none; one of two threads from one "
        "repository was dropped. Counts only reached the developer. Before it, a Python traceback pasted without its "
        "indentation was read as a traceback (its exception, not its first frame, is the evidence); rules, model and "
        f"extractor were frozen at commit {FREEZE22}. **First run, rules + model: {fr22['right']}/{fr22['n']} "
        f"({fr22['right'] / fr22['n']:.1%}), {fr22['hi_wrong']} wrong at >= 0.8, {fr22['unknown']} unknown**; the "
        f"rules alone in the same run: {fr22['rules_right']}/{fr22['n']} ({fr22['rules_right'] / fr22['n']:.1%}); "
        "decisive lines 97/98 alone, 90/98 buried. Freeze 21's code scores the same 80/98. Its 18 misses: 12 tools' "
        "wordings (an artifact step and a deploy finding no output, a Kubernetes Secret never created, a Terraform "
        "AMI lookup finding none, Elasticsearch's unauthorized action for a user that authenticated, read as "
        "credentials, pyarrow's schema unification, a truncated image, Overpass' per-IP rate limit, PBS wall time, "
        "PostgreSQL's lock table read as memory, a consumer failing to join its group, a ClassCastException between "
        "the code's own classes read as a schema mismatch), a Celery worker SIGKILLed under a memory-hungry task "
        "read as an external kill, 4 causes a level removed (an xdist worker crash, a permission problem shown as "
        "'Table not found', a Kafka replication setting seen as a timed-out wait, a spreadsheet's byte-order mark "
        "seen as a header mismatch) and one label against the taxonomy (a kubelet eviction for ephemeral storage, "
        "which the rules read as resource exhaustion, labelled an external kill: the one confident wrong answer). "
        "The wordings were added where the log states the cause, and it joined the model's training data. Today "
        f"(tuned, in-sample for the model): {b22[1]}/{b22[0]} with the model, {b22[4]}/{b22[0]} with the rules alone."
    )
    fr23, b23 = BATCH23_FIRST_RUN, per_batch.get(23, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 23 ({fr23['n']} threads from bench/data/fresh_batch23.yaml, all 14 categories with 2 to 6 cases each, "
        f"{fr23['n']} repositories, 11 of them also in earlier data with other threads; no thread in batches 1-22, the "
        "training corpus or among those batch 22's collectors looked at) was gathered by five collectors pointed "
        "at ecosystems the earlier batches had little of (Ray, Dask, Flink, Beam, Trino, Hive, Go and Rust tools, "
        "other CI systems, HPC schedulers, cloud CLIs, warehouses); they kept 75 of 428 threads, and five reviewers "
        "dropped 8 and relabelled none. Counts only reached the developer. It was run once against the rules tuned "
        f"on batch 22 and the model retrained with it, frozen at commit {FREEZE23}. **First run, rules + model: "
        f"{fr23['right']}/{fr23['n']} ({fr23['right'] / fr23['n']:.1%}), {fr23['hi_wrong']} wrong at >= 0.8, "
        f"{fr23['unknown']} unknown**; the rules alone in the same run: {fr23['rules_right']}/{fr23['n']} "
        f"({fr23['rules_right'] / fr23['n']:.1%}); decisive lines 67/67 alone, 64/67 buried. Freeze 22's code scores "
        "60/67: the model retrained with batch 22 (and its thresholds, chosen anew) left 3 more logs unknown and named "
        "one more right. Its 9 misses: 7 tools' wordings (an FTP mirror's 550 read as the network from the advice "
        "below it, a record not in Schema Registry's wire format read as an external kill from Kafka Connect's 'Task "
        "is being killed', R's failed package installation, a Go module's toolchain floor beside a bare exit, "
        "Google's per-minute quota refused as gRPC's ResourceExhausted read as capacity, a Terraform provider's wait "
        "and a Helm hook's wait running out, the second read as the network from 'context deadline exceeded') and 2 "
        "causes a level removed (containers killed by the OOM killer seen as Docker's missing container, blank input "
        "values seen as R's 'missing value where TRUE/FALSE needed'). The wordings were added where the log states "
        "the cause, and it joined the model's training data. Today (tuned, in-sample for the model): "
        f"{b23[1]}/{b23[0]} with the model, {b23[4]}/{b23[0]} with the rules alone."
    )
    fr24, d24, b24 = BATCH24_FIRST_RUN, BATCH24_DECISIVE_FIRST_RUN, per_batch.get(24, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 24 ({fr24['n']} threads from bench/data/fresh_batch24.yaml, 12 categories with 1 to 5 cases each and "
        "no schema_mismatch or timeout case, gathered by five collectors pointed at data-platform software with what "
        "was left of a session's search budget: 29 of 215 threads kept) was first run **before it was reviewed**: the "
        f"budget ran out before a reviewer could open its threads. It was run once against the rules tuned on batch 23 "
        f"and the model retrained with it, frozen at commit {FREEZE24}: **{fr24['right']}/{fr24['n']} "
        f"({fr24['right'] / fr24['n']:.1%}), {fr24['hi_wrong']} wrong at >= 0.8, {fr24['unknown']} unknown**; the "
        f"rules alone {fr24['rules_right']}/{fr24['n']}; decisive lines {d24['plain']}/{d24['n']} alone, "
        f"{d24['buried']}/{d24['n']} buried; freeze 23's code scores 21/29. A small batch (about +/- 15 points). The "
        "next session's two reviewers opened every thread: all 29 kept, none relabelled (one log's text the search "
        "service never showed; its thread, cause and label were confirmed). Its 7 misses: 2 wordings (an expired "
        "token refused as 'Access Denied', read as permission; Databricks' UNSUPPORTED_FEATURE for a statement the "
        "code issued) and 5 causes a level removed (an expired token and a file not yet uploaded, both seen only as "
        "HTTP 403; a protobuf release seen as a TypeError; a cluster torn down under a Ray job seen as its raylet "
        "dying; a stream processor stuck in recovery with no error at all). The wordings were added and it joined "
        f"the model's training data. Today (tuned, in-sample for the model): {b24[1]}/{b24[0]} with the model, "
        f"{b24[4]}/{b24[0]} with the rules alone."
    )
    fr25, d25, b25 = BATCH25_FIRST_RUN, BATCH25_DECISIVE_FIRST_RUN, per_batch.get(25, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 25 ({fr25['n']} threads from bench/data/fresh_batch25.yaml, all 14 categories with 1 to 8 cases each, "
        f"{fr25['n']} repositories, 30 of them also in earlier data with other threads; no thread in batches 1-24 or "
        "the training corpus) was gathered by eight collectors, each given a share of the categories (an eighth "
        "searched again for the three with the fewest cases, skipping every thread the others had looked at); they "
        "kept 90 of 1,082 threads, eight reviewers dropped 3 and relabelled 1, and 6 second cases from a repository "
        "already in the batch were dropped. Short of the 100 asked for: the search index holds few unused threads "
        "with a settled cause. Counts were asked for; three collectors' closing notes also named some repositories "
        "and causes, which were not acted on before the run. It was run once against the rules tuned on batch 24 and "
        f"the model retrained with it, frozen at commit {FREEZE25}. **First run, rules + model: "
        f"{fr25['right']}/{fr25['n']} ({fr25['right'] / fr25['n']:.1%}), {fr25['hi_wrong']} wrong at >= 0.8, "
        f"{fr25['unknown']} unknown**; the rules alone in the same run: {fr25['rules_right']}/{fr25['n']} "
        f"({fr25['rules_right'] / fr25['n']:.1%}); decisive lines {d25['plain']}/{d25['n']} alone, "
        f"{d25['buried']}/{d25['n']} buried. Freeze 24's code scores the same 63/81. Its 18 misses: 9 tools' "
        "wordings (Terraform's data source finding no VPC, BigQuery's wildcard table as dbt relays it, PostgreSQL's "
        "superuser-only publication, an expired x509 certificate read as the network from kubectl's 'Unable to "
        "connect', BigQuery's load refusing a NUL byte and a row over its size limit, conda's channels without the "
        "package, read as a missing input from its exception's name, pip's legacy egg_info failure, a CI host's inode "
        "check printed above the hook's exit), 2 where the taxonomy and the thread differ (an Airflow sensor's own "
        "timeout, which the rules read as the upstream it waited for; a GitHub Actions run cancelled by a concurrency "
        "group the thread fixed in the workflow, labelled a code bug) and 7 causes a level removed (exit 137 with no "
        "memory evidence, a role without KMS rights seen as 'check the role provided', a JSON string where the schema "
        "wants an array, Athena's ORC cursor error, a loader's column-order migration, Tekton's default timeout seen "
        "only at INFO, a Jenkins agent on a reclaimed spot instance seen as its channel closing). The wordings were "
        "added where the log states the cause, and it joined the model's training data. Today (tuned, in-sample for "
        f"the model): {b25[1]}/{b25[0]} with the model, {b25[4]}/{b25[0]} with the rules alone."
    )
    fr26, d26, b26 = BATCH26_FIRST_RUN, BATCH26_DECISIVE_FIRST_RUN, per_batch.get(26, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 26 ({fr26['n']} threads from bench/data/fresh_batch26.yaml, all 14 categories with 2 to 8 cases each, "
        f"{fr26['n']} repositories or sites, 33 of them also in earlier data with other threads, 4 from stored Q&A "
        "pages rather than GitHub; no thread in batches 1-25 or the training corpus) was gathered by seven collectors, "
        "two categories each, who could also search Q&A and forum pages; they kept 101 of about 1,260 threads, and "
        "seven reviewers kept 100 and left 1 unverified (dropped). Counts only reached the developer. Nothing in the "
        "code changed between the last session's landing and the run: it was run once against the rules tuned on "
        f"batch 25 and the model retrained with it, frozen at commit {FREEZE26}. **First run, rules + model: "
        f"{fr26['right']}/{fr26['n']} ({fr26['right'] / fr26['n']:.1%}), {fr26['hi_wrong']} wrong at >= 0.8, "
        f"{fr26['unknown']} unknown**; the rules alone in the same run: {fr26['rules_right']}/{fr26['n']} "
        f"({fr26['rules_right'] / fr26['n']:.1%}); decisive lines {d26['plain']}/{d26['n']} alone, "
        f"{d26['buried']}/{d26['n']} buried. Freeze 25's code scores 89/100. The first batch to reach 90%, and one "
        "batch of 100 (a 95% interval of about +/- 6 points): the first runs before it (batches 16-25) were 71-87%. "
        "Its 10 misses: 5 tools' wordings (Jenkins' timeout step seen only as the interruption it raises, Redis' "
        "maxclients, SQLite's 'has no column named', GitHub GraphQL's 'Something went wrong while executing your "
        "query', and pip's read timeouts read as a missing input from a packaging tool's 'Preparing of the upstream "
        "... failed') and 4 causes a level removed (a Docker socket the user could "
        "not yet open seen as 'Cannot connect to the Docker daemon', a label value out of range seen as a CUDA "
        "assertion, bad labels seen as NaN tensors, a refactor seen as 'cannot import name', answered dependency at "
        "0.95) plus a traceback cut before its exception line; two wordings the model had right and the rules did "
        "not know (Drone's 'Maximum build time exceeded', Kafka's UNKNOWN_TOPIC_OR_PARTITION alone) were added too. "
        "Its 6 buried decisive lines were one-line failures "
        "with no level amid ordinary lines: a log with no error block now shows its newest such line in the excerpt, "
        "a server out of connections and Kafka's UNKNOWN_TOPIC_OR_PARTITION are error lines, and a JSON record whose "
        "failure is only in an `error` field (Docker's progress stream) is an error record, shown as its message. "
        "The wordings were added where the log states the cause, and it joined the model's training data. Today "
        f"(tuned, in-sample for the model): {b26[1]}/{b26[0]} with the model, {b26[4]}/{b26[0]} with the rules alone."
    )
    fr27, d27, b27 = BATCH27_FIRST_RUN, BATCH27_DECISIVE_FIRST_RUN, per_batch.get(27, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 27 ({fr27['n']} threads from bench/data/fresh_batch27.yaml, all 14 categories with 1 to 8 cases each, "
        f"{fr27['n']} repositories, 20 of them also in earlier data with other threads; no thread in batches 1-26, the "
        "training corpus or among those batch 26's collectors looked at) was gathered in the same session with what "
        "was left of its search budget by seven collectors (other pairs of categories; 76 of 907 threads kept) and "
        "eight reviewers (none dropped; 2 second cases from one repository dropped), counts only. It was run once "
        f"against the rules tuned on batch 26 and the model retrained with it, frozen at commit {FREEZE27}. **First "
        f"run, rules + model: {fr27['right']}/{fr27['n']} ({fr27['right'] / fr27['n']:.1%}), {fr27['hi_wrong']} wrong "
        f"at >= 0.8, {fr27['unknown']} unknown**; the rules alone in the same run: {fr27['rules_right']}/{fr27['n']} "
        f"({fr27['rules_right'] / fr27['n']:.1%}); decisive lines {d27['plain']}/{d27['n']} alone, "
        f"{d27['buried']}/{d27['n']} buried. Freeze 26's code scores the same 68/74. **Batches 26 and 27 are easier, "
        "not the classifier better**: older code scores as well on them - freeze 20's (c6afbaf) 89/100 and 69/74, "
        "freeze 13's (9c39be2) 87/100 and 67/74 - while on batch 25 those score 63/81 and 57/81. Their brief was "
        "written anew that session (the earlier one was lost), and its category definitions give examples of each "
        "category's wording, which may have steered collectors to threads whose log states the cause. Its 6 misses: "
        "4 tools' wordings (client-go's 403 without details, 'the server does not allow access to the requested "
        "resource'; Hugging Face datasets' 'Couldn't find file at'; Node 17's OpenSSL refusing webpack 4's hash; Azure "
        "Resource Manager's QuotaExceeded nested in its JSON error body under a generic message), a Go test run past "
        "its default timeout seen only as the goroutine dump, and a throttled Glue call whose adapter then crashed "
        "building its exception (read as the code bug it also is). A cloud API's JSON error body is now read with the "
        "errors nested in it, and a JSON log record's `error` field (zap, logrus) with its message. The wordings were "
        "added and it joined the model's training data. Today (tuned, "
        f"in-sample for the model): {b27[1]}/{b27[0]} with the model, {b27[4]}/{b27[0]} with the rules alone."
    )
    fr28, d28, b28 = BATCH28_FIRST_RUN, BATCH28_DECISIVE_FIRST_RUN, per_batch.get(28, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 28 ({fr28['n']} threads from bench/data/fresh_batch28.yaml, all 14 categories with 5 to 10 cases each, "
        "101 repositories, 22 of them also in earlier data with other threads, and 2 other pages; no thread in batches "
        "1-27 or the training corpus) tested why batches 26 and 27 were easier. It was gathered under a taxonomy that "
        "defines each category by its cause with no example wordings, by collectors told to search by tool and "
        "situation rather than by the message a category prints and to take the first threads that qualify "
        "(bench/protocol at 3e9dca6): eight collectors kept 106 of 1,932 threads, eight reviewers kept 105 (2 "
        "relabelled) and dropped 1, and 2 second cases from one repository were dropped; counts only. It was run once "
        f"against the code as landed, frozen at commit {FREEZE28}. **First run, rules + model: "
        f"{fr28['right']}/{fr28['n']} ({fr28['right'] / fr28['n']:.1%}), {fr28['hi_wrong']} wrong at >= 0.8, "
        f"{fr28['unknown']} unknown**; the rules alone in the same run: {fr28['rules_right']}/{fr28['n']} "
        f"({fr28['rules_right'] / fr28['n']:.1%}); decisive lines {d28['plain']}/{d28['n']} alone, "
        f"{d28['buried']}/{d28['n']} buried. Older code scores alike: freeze 27's 69/103, freeze 20's 71/103, freeze "
        "13's 66/103. So the brief made batches 26 and 27 easier, and a batch sampled as failures come puts the "
        "classifier near 71%. Its 30 misses: 13 tools' wordings (Elasticsearch's mapper 'tried to parse field as "
        "object, but got EOF', Let's Encrypt's certificate limit, a Google API's daily quota read as a permission "
        "from its 403, librdkafka's TopicAuthorizationFailed, Bazel's test timeout read as credentials from a "
        "timestamp's milliseconds '.401', Oracle's ORA-28001 expired password, Kafka's 'Inconsistent group "
        "protocol', Gradle on a newer JDK's 'Unsupported class file major version', Elasticsearch's flood-stage "
        "block read as a permission from its 403, Glue's ConcurrentRunsExceeded, a service's 'Timeout talking to "
        "backend', alembic's 'Can't locate revision', a 500 naming malformed UTF-8 read as the network) and 17 logs "
        "that do not state the cause the thread found elsewhere (an image list with no reason, a copy step that "
        "printed nothing, an expired artifact as HTTP 410, a watchdog's SIGKILL in a French locale, a service outage "
        "as a bare 500, a restarted Docker daemon as 'unexpected EOF', a job cancelled at its timeout-minutes as "
        "'The operation was canceled', validators' messages on bad values, a traceback cut before its exception). "
        "The wordings were added, a bare HTTP status in a rule no longer matches the milliseconds of a timestamp, "
        "and it joined the model's training data. Today (tuned, "
        f"in-sample for the model): {b28[1]}/{b28[0]} with the model, {b28[4]}/{b28[0]} with the rules alone."
    )
    fr29, d29, b29 = BATCH29_FIRST_RUN, BATCH29_DECISIVE_FIRST_RUN, per_batch.get(29, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 29 ({fr29['n']} threads from bench/data/fresh_batch29.yaml, 13 categories with 1 to 5 cases each and "
        f"no kafka_consumer case, {fr29['n']} repositories, 14 of them also in earlier data with other threads; no "
        "thread in batches 1-28, the training corpus or among those batch 28's collectors looked at) was gathered "
        "in the same session under batch 28's protocol with what was left of its search budget: five collectors "
        "kept 48 of 949 threads (most threads the index still holds with a settled cause and a posted log had been "
        "used), three reviewers kept 45 and dropped 3; counts only. It was run once against the rules tuned on "
        "batch 28, the carrier-independent reading and the model retrained with batch 28, frozen at commit "
        f"{FREEZE29}. **First run, rules + model: {fr29['right']}/{fr29['n']} ({fr29['right'] / fr29['n']:.1%}), "
        f"{fr29['hi_wrong']} wrong at >= 0.8, {fr29['unknown']} unknown**; the rules alone in the same run: "
        f"{fr29['rules_right']}/{fr29['n']} ({fr29['rules_right'] / fr29['n']:.1%}); decisive lines "
        f"{d29['plain']}/{d29['n']} alone, {d29['buried']}/{d29['n']} buried. Freeze 28's and freeze 20's code score "
        "the same 34/45, freeze 13's 32/45: batch 28's changes neither helped nor hurt here. Its 11 misses: 4 "
        "tools' wordings (dbt's 'Could not find adapter type', setuptools' \"invalid command 'bdist_wheel'\", a "
        "native module's 'invalid ELF header', Nextflow's failing completion handler) and 7 logs that do not state "
        "the cause the thread found (a return code -9 with no word of memory, an expired feed whose agency stopped "
        "publishing, Windows Defender seen as an incompatible executable, a version check's own bug, a Spark stage "
        "abort with no cause line, a full disk seen as a lockfile or SQLite I/O error). The wordings were added and "
        f"it joined the model's training data. Today (tuned, in-sample for the model): {b29[1]}/{b29[0]} with the "
        f"model, {b29[4]}/{b29[0]} with the rules alone."
    )
    fr30, d30, b30 = BATCH30_FIRST_RUN, BATCH30_DECISIVE_FIRST_RUN, per_batch.get(30, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 30 ({fr30['n']} threads from bench/data/fresh_batch30.yaml, all 14 categories with 1 to 9 cases each, "
        "96 repositories, 23 of them also in earlier data with other threads, and 1 other page; no thread in batches "
        "1-29 or the training corpus) was gathered in a new session under batch 28's protocol: seven collectors kept "
        "101 of 1,796 threads (the killed_external and kafka_consumer collector found 5), seven reviewers and one for "
        "a case left unverified kept 100 (1 relabelled) and dropped 1, and 3 second cases from one repository were "
        "dropped; counts only. It was run once against the code as landed after batch 29, frozen at commit "
        f"{FREEZE30}. **First run, rules + model: {fr30['right']}/{fr30['n']} ({fr30['right'] / fr30['n']:.1%}), "
        f"{fr30['hi_wrong']} wrong at >= 0.8, {fr30['unknown']} unknown**; the rules alone in the same run: "
        f"{fr30['rules_right']}/{fr30['n']} ({fr30['rules_right'] / fr30['n']:.1%}); decisive lines "
        f"{d30['plain']}/{d30['n']} alone, {d30['buried']}/{d30['n']} buried. Freeze 29's code scores the same 74/97, "
        "freeze 20's 70/97, freeze 13's 63/97. Its 23 misses: 13 logs with 11 wordings no rule had (docker's oom "
        "event, a Dockerfile COPY with no source files, SQLite's 'no such table' and InfluxDB's field type conflict "
        "as schema, a registry pull with 'no basic auth credentials' read as a permission, java.text's "
        "'Unparseable date' read as a SQL syntax error, an invalid geometry, a Helm template error, Terraform's crash "
        "banner, EC2's spot instance count limit, PostgreSQL's 57P01 read as the network twice) and 10 logs that do "
        "not state the cause the thread found or state another (a client read timeout the thread put down to its "
        "configured limit, an enum value an API added seen as a ValueError, kubectl's Unauthorized for a grant the "
        "upgrade took away, a 403 for a wrong token, a type "
        "conflict from the code's own missing cast, a foreign-key violation from a missing cascade, a nil error from "
        "bad feeds, an Airflow alert, a Spark write abort from an old jar, a Celery warm shutdown). The wordings were "
        "added and it joined the model's training data. Today (tuned, "
        f"in-sample for the model): {b30[1]}/{b30[0]} with the model, {b30[4]}/{b30[0]} with the rules alone."
    )
    fr31, d31, b31 = BATCH31_FIRST_RUN, BATCH31_DECISIVE_FIRST_RUN, per_batch.get(31, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 31 ({fr31['n']} threads from bench/data/fresh_batch31.yaml, 12 categories with 1 to 6 cases each and "
        f"no killed_external or kafka_consumer case, {fr31['n']} repositories, 9 of them also in earlier data with "
        "other threads; no thread in batches 1-30, the training corpus or among those batch 30's collectors looked "
        "at) was gathered in the same session with what was left of its search budget while batch 30's changes were "
        "made: six collectors kept 51 of 771 threads, six reviewers and one for a case left unverified kept 50 (3 "
        "relabelled) and dropped 1; counts only. It was run once against the rules tuned on batch 30 and the model "
        f"retrained with it, frozen at commit {FREEZE31}. **First run, rules + model: {fr31['right']}/{fr31['n']} "
        f"({fr31['right'] / fr31['n']:.1%}), {fr31['hi_wrong']} wrong at >= 0.8, {fr31['unknown']} unknown**; the "
        f"rules alone in the same run: {fr31['rules_right']}/{fr31['n']} ({fr31['rules_right'] / fr31['n']:.1%}); "
        f"decisive lines {d31['plain']}/{d31['n']} alone, {d31['buried']}/{d31['n']} buried. Freeze 30's code scores "
        "33/50, freeze 20's 32/50, freeze 13's 30/50. Its 15 misses: 4 wordings no rule had (Kafka Streams' missing "
        "source topic, a CI service's expired artifacts, pip's 'Failed to build installable wheels', a workflow "
        "token's 403 stated above the runner's bare exit code), 1 expired certificate stated a line above the "
        "missing file the extractor took as the failure (left alone), and 10 logs that do not state the cause the "
        "thread found (a query cancelled at a default timeout the code never set, a database schema newer than the "
        "dashboard's release, remote state not yet created, SQLite's 'unable to open database file' for a root-owned "
        "directory, a row-count test failed by bad scraped data, a mapping error from bad records, a crash cut "
        "short, an sbatch I/O error from a full root disk, a rate limit seen as 'failed to get', a registry outage "
        "seen as 'failed to download'). The wordings were added and it joined the model's training data. Today "
        f"(tuned, in-sample for the model): {b31[1]}/{b31[0]} with the model, {b31[4]}/{b31[0]} with the rules alone."
    )
    fr32, d32, b32 = BATCH32_FIRST_RUN, BATCH32_DECISIVE_FIRST_RUN, per_batch.get(32, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 32 ({fr32['n']} threads from bench/data/fresh_batch32.yaml, all 14 categories with 2 to 9 cases each, "
        f"{fr32['n']} repositories or sites, 18 of the repositories also in earlier data with other threads) was "
        "gathered in a new session under the same protocol texts: seven collectors kept 92 of 1,611 threads, seven "
        "reviewers kept 88 (1 relabelled) and dropped 4, 2 more were dropped as second cases from one repository; "
        "counts only. It was run once against the code as landed after batch 31 with one extractor change made "
        "before the batch was read (a failure stated without an error word is looked for mid-log: the extractor "
        "scans for the literals of the rules that read a line alone), frozen at commit "
        f"{FREEZE32}. **First run, rules + model: {fr32['right']}/{fr32['n']} ({fr32['right'] / fr32['n']:.1%}), "
        f"{fr32['hi_wrong']} wrong at >= 0.8, {fr32['unknown']} unknown**; the rules alone in the same run: "
        f"{fr32['rules_right']}/{fr32['n']} ({fr32['rules_right'] / fr32['n']:.1%}); decisive lines "
        f"{d32['plain']}/{d32['n']} alone, {d32['buried']}/{d32['n']} buried. The code before the extractor change "
        "scores the same 64/86 (82/86 buried); freeze 20's and freeze 13's code 48/86 each. Its 22 misses: 12 logs "
        "with 11 wordings no rule had (PostgreSQL's recovery-conflict cancel, a consumer's rebalance callback in an "
        "unexpected state read as a rate limit for its POLLING_THROTTLED state, GitHub's protected-branch refusal, "
        "an OAuth invalid_grant body above the TypeError it caused, ssh's 'Permission denied (password)' read as "
        "authorization, two Elasticsearch dates its date field could not read taken for a mapping mismatch, "
        "Nextflow's input file name collision, a config key defined twice read as a lost heartbeat for its name, "
        "Helm's 'function not defined' on an old Helm, a provider's rate limit logged at DEBUG, ssh-action's command "
        "timeout), and 10 logs that do not state the cause the thread found or state another (an Oracle session "
        "killed for its PGA limit, a key deleted under a backfill by a concurrent compaction, a Nextflow compile "
        "error from a newer Nextflow, a conda environment build that hung, a missing conda path from a Snakemake "
        "bug, Maven Central's CDN limiting a resolver, an API disabled for abuse answering 401, an ACME 503 worded "
        "'rateLimited', a client's read timeout labelled network in one thread and timeout in another). The wordings "
        "were added and it joined the model's training data. Today (tuned, in-sample for the model): "
        f"{b32[1]}/{b32[0]} with the model, {b32[4]}/{b32[0]} with the rules alone."
    )
    fr33, d33, b33 = BATCH33_FIRST_RUN, BATCH33_DECISIVE_FIRST_RUN, per_batch.get(33, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 33 ({fr33['n']} threads from bench/data/fresh_batch33.yaml, all 14 categories with 3 to 9 cases "
        f"each, {fr33['n']} repositories or sites, 23 of the repositories also in earlier data with other threads;"
        " no thread in batches 1-32, the training corpus or among those batch 32's collectors looked at) was "
        "gathered in the same session with what was left of its search budget while batch 32's changes were made:"
        " six collectors kept 77 of 1,144 threads, six reviewers and two for cases left unverified kept 76 (1 "
        "relabelled) and dropped 1; counts only. It was run once against the rules tuned on batch 32 and the "
        f"model retrained with it, frozen at commit {FREEZE33}. **First run, rules + model: {fr33['right']}/"
        f"{fr33['n']} ({fr33['right'] / fr33['n']:.1%}), {fr33['hi_wrong']} wrong at >= 0.8, {fr33['unknown']} "
        f"unknown**; the rules alone in the same run: {fr33['rules_right']}/{fr33['n']} ("
        f"{fr33['rules_right'] / fr33['n']:.1%}); decisive lines {d33['plain']}/{d33['n']} alone, {d33['buried']}/"
        f"{d33['n']} buried. Freeze 32's code scores 55/76, freeze 20's 50/76, freeze 13's 45/76. Its 20 misses: 5"
        " wordings no rule had (Snowflake's 'No active warehouse selected' for a role without USAGE on the "
        "warehouse, kubelet's expired client certificate stated above the missing bootstrap file it leads to, as "
        "in batch 31, Elasticsearch refusing a self-intersecting shape taken for a mapping mismatch, apt's unmet "
        "dependencies, BigQuery's daily per-table quota read as capacity), a full inode table shown by df below a"
        " Go stack the extractor took as the failure (left alone), and 14 logs that do not state the cause the "
        "thread found or state another (a DataLoader worker that exited for lack of memory, containers stopped by"
        " a daemon upgrade, an authentication failure from a missing --authenticationDatabase flag, a pydantic "
        "beta breaking a forward reference, Helm's nil pointer on an old Helm, a build server down, a Hugging "
        "Face outage, builds past a 10- and a 15-minute limit with no word of it, ...). The wordings were added "
        f"and it joined the model's training data. Today (tuned, in-sample for the model): {b33[1]}/{b33[0]} with "
        f"the model, {b33[4]}/{b33[0]} with the rules alone."
    )
    fr34, d34, b34 = BATCH34_FIRST_RUN, BATCH34_DECISIVE_FIRST_RUN, per_batch.get(34, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 34 ({fr34['n']} threads from bench/data/fresh_batch34.yaml, all 14 categories with 3 to 10 cases "
        f"each, {fr34['n']} GitHub repositories, 19 of them also in earlier data with other threads; no thread in "
        "batches 1-33 or the training corpus) was gathered in a new session under the same protocol texts: seven "
        "collectors kept 92 threads and two more, sent after the thinnest categories, kept 10, of 2,211 looked at; "
        "nine reviewers kept 101 (1 relabelled) and dropped 1, and a second case from one repository was dropped; "
        "counts only. It was run once against the code as landed after batch 33, with the mid-log scan made faster "
        f"(answers unchanged on every earlier log), frozen at commit {FREEZE34}. **First run, rules + model: "
        f"{fr34['right']}/{fr34['n']} ({fr34['right'] / fr34['n']:.1%}), {fr34['hi_wrong']} wrong at >= 0.8, "
        f"{fr34['unknown']} unknown**; the rules alone in the same run: {fr34['rules_right']}/{fr34['n']} ("
        f"{fr34['rules_right'] / fr34['n']:.1%}); decisive lines {d34['plain']}/{d34['n']} alone, {d34['buried']}/"
        f"{d34['n']} buried. Freeze 33's and freeze 32's code score 64/100, freeze 20's 59/100, freeze 13's 58/100: "
        "the lowest first run since batch 13 (62.6%). Its 36 misses: 17 logs with 16 wordings no rule had (bash's "
        "unclosed quote and test bracket, one read as a dropped connection, argparse's missing required argument, a "
        "server's 'data file is not present', containerd's image reference 'not found' read as DNS, GitHub Actions' "
        "token scopes 'requesting ... but is only allowed', pgBackRest's 'terminated on a INT signal', pydantic's "
        "missing and retyped fields read as bad values (two logs), apt's 'Mirror sync in progress', darknet's wrong "
        "annotation, CUDA's driver older than its runtime, the JVM unable to create a native thread read as memory "
        "(both wrong at >= 0.8 were this and the next), pyarrow built against another numpy read as a column type, a "
        "client out of local ports read as the network, Elasticsearch's shard limit read as a validation failure, "
        "PostGIS's non-closed rings), kubelet's BackOff event read as a rate limit, and 18 logs that do not state "
        "the cause the thread found or state another (a bare bash 'Killed' and a runner that lost its server "
        "labelled memory, a tombstone through Kafka Connect's Cast, a scraper run before the data was published, a "
        "missing table from a migration never run labelled schema, a site's changed API shown only as a KeyError, "
        "curl's exit 22 from a Slack rate limit, curl's exit 56 from a download site down, Ansible's async retries "
        "used up, an Iceberg writer failing after its vended credentials expired, NaN loss from bad labels, a "
        "TensorFlow queue closed by corrupt images, a hang on YARN nodes out of disk, ...). The wordings were added "
        "(the native-thread line moved from memory to capacity: two of the three benchmark threads with it found a "
        "thread limit) and it joined the model's training data. Today (tuned, in-sample for the model): "
        f"{b34[1]}/{b34[0]} with the model, {b34[4]}/{b34[0]} with the rules alone."
    )
    fr35, d35, b35 = BATCH35_FIRST_RUN, BATCH35_DECISIVE_FIRST_RUN, per_batch.get(35, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 35 ({fr35['n']} threads from bench/data/fresh_batch35.yaml, all 14 categories with 1 to 6 cases "
        "each, 48 GitHub repositories, 13 of them also in earlier data with other threads, and 1 other page; no "
        "thread in batches 1-34, the training corpus or among those batch 34's collectors looked at) was gathered "
        "in the same session with what was left of its search budget while batch 34's changes were made: four "
        "collectors kept 49 of 808 threads, four reviewers kept all 49 (1 relabelled); counts only. It was run once "
        "against the rules tuned on batch 34 and the model retrained with it, frozen at commit "
        f"{FREEZE35}. **First run, rules + model: {fr35['right']}/{fr35['n']} ({fr35['right'] / fr35['n']:.1%}), "
        f"{fr35['hi_wrong']} wrong at >= 0.8, {fr35['unknown']} unknown**; the rules alone in the same run: "
        f"{fr35['rules_right']}/{fr35['n']} ({fr35['rules_right'] / fr35['n']:.1%}); decisive lines "
        f"{d35['plain']}/{d35['n']} alone, {d35['buried']}/{d35['n']} buried. Freeze 34's code scores 35/49, freeze "
        "20's 35/49, freeze 13's 33/49. Its 13 misses: 4 wordings no rule had (Socrata refusing a NaN as 'Unknown "
        "identifier \"NaN\"', a client's GET answered 404, protobuf's upb classes without an attribute read as "
        "the caller's bug at 0.83, Lambda's code storage limit read as a rate limit), and 9 logs that do not state "
        "the cause the thread found or state another (Terraform's default 20-minute resource timeout seen only as "
        "'context deadline exceeded', two API responses that changed shape seen as a KeyError and a NoneType, the "
        "second of them confidently a code bug, replication diffs a server no longer kept or wrote incomplete, "
        "GitHub's registry answering a transient 'denied', a dependency upgrade seen as an SQL syntax error, a full "
        "temporary directory behind Snakemake's 'Error in rule', an exception type change behind a duplicate "
        "partition name). The wordings were added and it joined the model's training data. Today (tuned, in-sample "
        f"for the model): {b35[1]}/{b35[0]} with the model, {b35[4]}/{b35[0]} with the rules alone."
    )
    fr36, d36, b36 = BATCH36_FIRST_RUN, BATCH36_DECISIVE_FIRST_RUN, per_batch.get(36, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 36 ({fr36['n']} threads from bench/data/fresh_batch36.yaml, all 14 categories with 2 to 8 cases "
        "each, 93 GitHub repositories, 28 of them also in earlier data with other threads, and 1 other page; no "
        "thread in batches 1-35, the training corpus or among those batches 34-35's collectors looked at) was "
        "gathered in a new session under the same protocol texts: seven collectors kept 98 threads and one more, "
        "sent after the two thinnest categories, kept 2, of 2,104 looked at; eight reviewers kept 98 (1 relabelled) "
        "and dropped 2, and 4 second cases from one repository were dropped; counts only. It was run once against "
        f"the code as landed after batch 35, frozen at commit {FREEZE36}. **First run, rules + model: "
        f"{fr36['right']}/{fr36['n']} ({fr36['right'] / fr36['n']:.1%}), {fr36['hi_wrong']} wrong at >= 0.8, "
        f"{fr36['unknown']} unknown**; the rules alone in the same run: {fr36['rules_right']}/{fr36['n']} "
        f"({fr36['rules_right'] / fr36['n']:.1%}); decisive lines {d36['plain']}/{d36['n']} alone, "
        f"{d36['buried']}/{d36['n']} buried. Freeze 35's code scores 61/94, freeze 34's 60/94, freeze 20's 55/94, "
        "freeze 13's 46/94. Its 32 misses: 5 logs with 4 wordings no rule had (apt's 'Depends: ... but ... is to be "
        "installed', a Helm chart's YAML that does not parse, torch elastic's SignalException from a closed "
        "terminal, int() given an empty string read as a code bug at 0.83 in two logs: two of the three wrong at >= "
        "0.8), Airflow's 'although the task says it's queued. Was the task killed externally?' read as a kill at "
        "0.85 where the worker lacked a package (the third), 2 logs whose wording other threads settle otherwise "
        "(nf-core's samplesheet header check, labelled data quality in batch 22, here a missing column; ClickHouse "
        "failing to parse a value in a column the table's documented schema misplaced), and 24 logs that do not "
        "state the cause the thread found or state another (three API responses that lost a field seen as a "
        "KeyError, labelled schema; a minimap2 step out of memory with no word of it; git's exit 128 from a "
        "workflow without write permission; "
        "jq's 'Invalid numeric literal' from an expired token's error page and from bad lines in a dump; a wait "
        "timeout behind which AWS throttled; an embargoed dataset refused as 'Restricted access'; pods left "
        "Pending for lack of IP addresses; old Helm releases that cannot render newer charts; ...). The wordings "
        "were added, the Airflow line now answers killed_external at 0.55 (2 of the 3 benchmark threads with it "
        "found a package missing on the worker), and it joined the model's training data. Today (tuned, "
        f"in-sample for the model): {b36[1]}/{b36[0]} with the model, {b36[4]}/{b36[0]} with the rules alone."
    )
    fr37, d37, b37 = BATCH37_FIRST_RUN, BATCH37_DECISIVE_FIRST_RUN, per_batch.get(37, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 37 ({fr37['n']} threads from bench/data/fresh_batch37.yaml, all 14 categories with 1 to 8 cases "
        "each, 67 GitHub repositories, 24 of them also in earlier data with other threads, and 3 other pages; no "
        "thread in batches 1-36, the training corpus or among those batches 34-36's collectors looked at) was "
        "gathered in the same session with what was left of its search budget while batch 36's changes were made: "
        "five collectors kept 70 of 1,181 threads, five reviewers kept all 70 (1 relabelled); counts only. It was "
        "run once against the rules tuned on batch 36 and the model retrained with it, frozen at commit "
        f"{FREEZE37}. **First run, rules + model: {fr37['right']}/{fr37['n']} ({fr37['right'] / fr37['n']:.1%}), "
        f"{fr37['hi_wrong']} wrong at >= 0.8, {fr37['unknown']} unknown**; the rules alone in the same run: "
        f"{fr37['rules_right']}/{fr37['n']} ({fr37['rules_right'] / fr37['n']:.1%}); decisive lines "
        f"{d37['plain']}/{d37['n']} alone, {d37['buried']}/{d37['n']} buried. Freeze 36's and freeze 35's code score "
        "53/70, freeze 20's 50/70, freeze 13's 43/70: the model retrained on batch 36 (C=100) never answered a log "
        "without an error block, where freeze 36's (C=10) answered from 0.7, and 4 of those answers had been right. "
        "The trainer had chosen the regularisation on the logs with a block alone; it now counts every answer, "
        "those without a block too. Its 21 misses: 7 logs with 6 wordings no rule had (GnuPG's 'Unusable secret "
        "key' from an expired signing key, twice; the Docker client's 'Tag ... not found in repository'; dbt's "
        "artifact 'Expected a schema version of ... but found'; PyTorch's 'The NVIDIA driver on your system is too "
        "old'; the loader's GLIBC version in plain quotes; git's 'RPC failed; result=18'), a Kafka consumer's "
        "revoked partitions with no error block, Elasticsearch's date field refusing a value, which other threads "
        "settle as the data's and this one as the mapping's, and 12 logs that do not state the cause the thread "
        "found or state another (V8 out of heap seen as exit code 134, an agent killed with its SSH session, "
        "git's exit 128 from a token without write permission, a DDL parser's bug and a reader that refused "
        "strings seen as the data's, a conda cache file in the way, a mirror caught mid-sync answering 404, NaN "
        "loss from wrong samples, ...). The wordings were added and it joined the model's training data. Today "
        f"(tuned, in-sample for the model): {b37[1]}/{b37[0]} with the model, {b37[4]}/{b37[0]} with the rules alone."
    )
    fr38, d38, b38 = BATCH38_FIRST_RUN, BATCH38_DECISIVE_FIRST_RUN, per_batch.get(38, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 38 ({fr38['n']} threads from bench/data/fresh_batch38.yaml, all 14 categories with 2 to 10 cases "
        "each, 97 GitHub repositories, 32 of them also in earlier data with other threads; no thread in batches "
        "1-37, the training corpus or among those batches 34-37's collectors looked at) was gathered in a new "
        "session under the same protocol texts: seven collectors kept 101 of 1,828 threads, seven reviewers kept "
        "98 (3 relabelled) and dropped 3, and 1 second case from one repository was dropped; counts only. It was run "
        "once against the code as landed after batch 37, with Python's runtime wordings for a code bug answered at "
        f"0.77 instead of 0.83, frozen at commit {FREEZE38}. **First run, rules + model: {fr38['right']}/{fr38['n']} "
        f"({fr38['right'] / fr38['n']:.1%}), {fr38['hi_wrong']} wrong at >= 0.8, {fr38['unknown']} unknown**; the "
        f"rules alone in the same run: {fr38['rules_right']}/{fr38['n']} ({fr38['rules_right'] / fr38['n']:.1%}); "
        f"decisive lines {d38['plain']}/{d38['n']} alone, {d38['buried']}/{d38['n']} buried. Freeze 37's code "
        "scores 56/97 too, freeze 36's 57/97, freeze 20's 55/97, freeze 13's 52/97: the batch, not the code, is "
        "harder. Its 41 misses: 13 logs with 12 wordings no rule had (a registry's MANIFEST_UNKNOWN and a HEAD of "
        "the tag's manifest answered 404, the second read as a name lookup failing; SQLite's 'attempt to write a "
        "readonly database', read as a timeout from a column named timeout_seconds in the traceback's source; "
        "PyTorch's loss assert on a class id out of range; albumentations' unordered box; YOLO's rejected labels; "
        "Hive's incompatible metastore schema version; protobuf 4's 'Descriptors cannot not be created directly'; "
        "an HTTP/2 stream reset; a Kubernetes Job's DeadlineExceeded and Helm's hooks not ready, both read as a "
        "remote call's deadline; MySQL's 1317; REST Proxy's 'Consumer instance not found'), 5 logs whose wording "
        "other threads settle otherwise (a 401 for a token without write permission, a UnicodeDecodeError the "
        "maintainer called the caller's, InfluxDB's field type conflict after an upgrade, two Kafka consumers' "
        "trouble that was the tool's bug), 1 log whose loader error above a later traceback states the cause, and "
        "22 logs that do not state the cause the thread found or state another (SLURM's 'Killed' of a task out of "
        "memory, the one wrong at >= 0.8; exit 137 from a Dataproc driver out of memory; pnpm's exit 1 from a "
        "type check out of heap; data not yet published refused as 'Restricted access' or out of the valid range; "
        "expired test certificates seen as failed assertions; a replicator's signal 11 after a column was added; a "
        "pod evicted for its ephemeral storage seen as a lost agent; ...). The wordings were added and it joined "
        "the model's training data. Today (tuned, in-sample for the model): "
        f"{b38[1]}/{b38[0]} with the model, {b38[4]}/{b38[0]} with the rules alone."
    )
    fr39, d39, b39 = BATCH39_FIRST_RUN, BATCH39_DECISIVE_FIRST_RUN, per_batch.get(39, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 39 ({fr39['n']} threads from bench/data/fresh_batch39.yaml, 13 categories with 1 to 7 cases each, "
        "47 GitHub repositories, 18 of them also in earlier data with other threads; no thread in batches 1-38, the "
        "training corpus or among those batches 34-38's collectors looked at) was gathered in the same session with "
        "what was left of its search budget while batch 38's changes were made: four collectors kept 48 of 1,043 "
        "threads (most threads their searches returned had been used by earlier batches; the one sent after "
        "killed_external, kafka_consumer and code_bug kept 2), four reviewers kept 47 (1 relabelled) and dropped 1; "
        "counts only. It was run once against the rules tuned on batch 38 and the model retrained with it, frozen "
        f"at commit {FREEZE39}. **First run, rules + model: {fr39['right']}/{fr39['n']} "
        f"({fr39['right'] / fr39['n']:.1%}), {fr39['hi_wrong']} wrong at >= 0.8, {fr39['unknown']} unknown**; the "
        f"rules alone in the same run: {fr39['rules_right']}/{fr39['n']} ({fr39['rules_right'] / fr39['n']:.1%}); "
        f"decisive lines {d39['plain']}/{d39['n']} alone, {d39['buried']}/{d39['n']} buried. Freeze 38's and freeze "
        "37's code score 32/47, freeze 20's 30/47, freeze 13's 22/47. Its 14 misses: 7 logs with 6 wordings no "
        "rule had (GnuTLS's 'Handshake failed. Error in the certificate', read as the network; pip's "
        "externally-managed-environment; node-gyp's 'gyp ERR! find Python', twice; GraphQL's 'Cannot query field ... "
        "on type'; polars' 'Could not parse ... as dtype' without the backticks older releases print; expat's 'not "
        "well-formed (invalid token)', read as a token of credentials), 2 logs whose wording other threads settle "
        "otherwise (Elasticsearch's date field refusing a value, settled here as the mapping's; npm's 429 on the day "
        "the registry was down), and 5 logs that do not state the cause the thread found or state another (a TLS "
        "connection 'non-properly terminated' by expired certificates, pip's 'no such option' from an old pip, "
        "PostgreSQL's COPY context lines without their error, a query timeout the client failed to raise, an "
        "Airflow task the scheduler failed through a redelivery bug). The wordings were added and it joined the "
        f"model's training data. Today (tuned, in-sample for the model): {b39[1]}/{b39[0]} with the model, "
        f"{b39[4]}/{b39[0]} with the rules alone."
    )
    fr40, d40, b40 = BATCH40_FIRST_RUN, BATCH40_DECISIVE_FIRST_RUN, per_batch.get(40, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 40 ({fr40['n']} threads from bench/data/fresh_batch40.yaml, 11 categories with 1 to 3 cases each, "
        "22 GitHub repositories, 5 of them also in earlier data with other threads; no thread in batches 1-39, the "
        "training corpus or among those batches 34-39's collectors looked at) was gathered in the same session with "
        "the last of its search budget after batch 39's changes were made: two collectors kept 22 of 365 threads, two "
        "reviewers kept all 22; counts only. A small batch: its first run says little on its own. It was run once "
        f"against the rules tuned on batch 39 and the model retrained with it, frozen at commit {FREEZE40}. **First "
        f"run, rules + model: {fr40['right']}/{fr40['n']} ({fr40['right'] / fr40['n']:.1%}), {fr40['hi_wrong']} wrong "
        f"at >= 0.8, {fr40['unknown']} unknown**; the rules alone in the same run: {fr40['rules_right']}/{fr40['n']} "
        f"({fr40['rules_right'] / fr40['n']:.1%}); decisive lines {d40['plain']}/{d40['n']} alone, "
        f"{d40['buried']}/{d40['n']} buried. Freeze 39's and freeze 38's code score 15/22, freeze 20's 17/22, freeze "
        "13's 15/22. Its 7 misses: 3 logs with 3 wordings no rule had (Snowflake's 'Role ... specified in the connect "
        "string is not granted to this user', read as the network for its SQLSTATE 08001; apt's 'E: Unable to locate "
        "package'; ArcGIS' 'Item does not exist or is inaccessible'), 2 logs whose wording other threads settle "
        "otherwise (a Python 2 SyntaxError in a file that unpinned pip tooling compiled; an expired B2 token that "
        "rclone failed to renew), and 2 logs that do not state the cause (a 404 in a proxy's access log from its own "
        "bug; exit 137 with no word of memory). The wordings were added and it joined the model's training data. "
        f"Today (tuned, in-sample for the model): {b40[1]}/{b40[0]} with the model, {b40[4]}/{b40[0]} with the rules "
        "alone."
    )
    fr41, d41, b41 = BATCH41_FIRST_RUN, BATCH41_DECISIVE_FIRST_RUN, per_batch.get(41, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 41 ({fr41['n']} threads from bench/data/fresh_batch41.yaml, 13 categories with 3 to 8 cases each, 83 "
        "GitHub repositories, 22 of them also in earlier data with other threads, and 2 blog posts; no thread in "
        "batches 1-40, the training corpus or among those batches 34-40's collectors looked at) was gathered in a new "
        "session: seven collectors kept 88 of 1,293 threads, seven reviewers dropped 2 and relabelled 1, 1 second "
        "case from one "
        "repository was dropped; counts only. It was run once against the code as landed after batch 40, frozen at "
        f"commit {FREEZE41}. **First run, rules + model: {fr41['right']}/{fr41['n']} "
        f"({fr41['right'] / fr41['n']:.1%}), {fr41['hi_wrong']} wrong at >= 0.8, {fr41['unknown']} unknown**; the "
        f"rules alone in the same run: {fr41['rules_right']}/{fr41['n']} ({fr41['rules_right'] / fr41['n']:.1%}); "
        f"decisive lines {d41['plain']}/{d41['n']} alone, {d41['buried']}/{d41['n']} buried. Freeze 40's and freeze "
        "38's code score 53/85 too, freeze 20's 48/85, freeze 13's 45/85. Its 32 misses: 17 logs state their cause in "
        "a wording no rule had, of which 14 were added (Azure Storage's AuthorizationPermissionMismatch behind "
        "'Authentication failed'; a build 'did not complete successfully within the configured timeout'; "
        "Elasticsearch's REST client past its own socket timeout, twice; wandb's 'api_key not configured'; Rust's "
        "StorageFull; YOLO's out-of-range class ids, twice; invalid front-matter dates, twice; sbt's 'download "
        "failed'; 'exec format error'; CUDA's driver wording under TensorFlow's InternalError; spark-submit's missing "
        "main class), 6 logs carry wordings other threads settle otherwise (a SIGHUP abort fixed in the tool's code, a "
        "'Read timed out' the thread put down to the client's limit, GitHub's 403 for an anonymous rate limit, "
        "'Network is unreachable' from a full disk, a missing file and a 404 from services that were down), and 9 do "
        "not state the cause. The wordings were added, with four changes to extraction (the last words of a log "
        "read above the "
        "routine lines that end it, Docker Compose's container prefix read as a transport, PostgreSQL's DETAIL records "
        "kept with their error, just's recipe report as noise), and it joined the model's training data. Today (tuned, "
        f"in-sample for the model): {b41[1]}/{b41[0]} with the model, {b41[4]}/{b41[0]} with the rules alone."
    )
    fr42, d42, b42 = BATCH42_FIRST_RUN, BATCH42_DECISIVE_FIRST_RUN, per_batch.get(42, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 42 ({fr42['n']} threads from bench/data/fresh_batch42.yaml, 13 categories with 1 to 8 cases each, 67 "
        "GitHub repositories, 19 of them also in earlier data with other threads; no thread in batches 1-41, the "
        "training corpus or among those batches 34-41's collectors looked at) was gathered in the same session with "
        "the rest of its search budget while batch 41's changes were made: four collectors kept 70 of 1,183 threads, "
        "four reviewers dropped 2 and left 1 unverified (dropped); counts only. It was run once against the rules "
        f"tuned on batch 41 and the model retrained with it, frozen at commit {FREEZE42}. **First run, rules + model: "
        f"{fr42['right']}/{fr42['n']} ({fr42['right'] / fr42['n']:.1%}), {fr42['hi_wrong']} wrong at >= 0.8, "
        f"{fr42['unknown']} unknown**; the rules alone in the same run: {fr42['rules_right']}/{fr42['n']} "
        f"({fr42['rules_right'] / fr42['n']:.1%}); decisive lines {d42['plain']}/{d42['n']} alone, "
        f"{d42['buried']}/{d42['n']} buried. Freeze 41's and freeze 40's code score 52/67 too (65 buried), freeze "
        "20's 51/67, freeze 13's 50/67: an easier batch, not better code. Its 15 misses: 7 logs with wordings no rule "
        "had (a missing dated data folder; 'No ... data available for <date>'; a file an antivirus quarantined; an "
        "Azure SAS outside its validity window answered 'Access Denied'; a BibTeX entry that does not parse, read as "
        "the program's syntax; MySQL's 2003; a container past its ephemeral-storage limit, read as its eviction), 4 "
        "logs whose wording other threads settle otherwise (a numeric overflow from a column defined too narrow, a "
        "NameError from a Python release, curl's 'Operation timed out ... with 0 bytes received' from a server down, "
        "which batch 8's thread settles as the client's own limit, an R 'cannot open URL' during an outage), and 4 "
        "that do not state the cause. The wordings were added and it joined the model's training data. Today (tuned, "
        f"in-sample for the model): {b42[1]}/{b42[0]} with the model, {b42[4]}/{b42[0]} with the rules alone."
    )
    fr43, d43, b43 = BATCH43_FIRST_RUN, BATCH43_DECISIVE_FIRST_RUN, per_batch.get(43, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 43 ({fr43['n']} threads from bench/data/fresh_batch43.yaml, 13 categories with 1 to 4 cases each, 26 "
        "GitHub repositories, 10 of them also in earlier data with other threads, and 3 other pages; no thread in "
        "batches 1-42, the training corpus or among those batches 34-42's collectors looked at) was gathered in the "
        "same session with the last of its search budget after batch 42's changes were made: two collectors kept 29 "
        "of 574 threads, two reviewers kept all 29; counts only. A small batch: its first run says little on its own. "
        f"It was run once against the rules tuned on batch 42 and the model retrained with it, frozen at commit "
        f"{FREEZE43}. **First run, rules + model: {fr43['right']}/{fr43['n']} ({fr43['right'] / fr43['n']:.1%}), "
        f"{fr43['hi_wrong']} wrong at >= 0.8, {fr43['unknown']} unknown**; the rules alone in the same run: "
        f"{fr43['rules_right']}/{fr43['n']} ({fr43['rules_right'] / fr43['n']:.1%}); decisive lines "
        f"{d43['plain']}/{d43['n']} alone, {d43['buried']}/{d43['n']} buried. Freeze 42's and freeze 41's code score "
        "24/29 too, freeze 20's and freeze 13's 25/29. Its 5 misses: 3 logs with wordings no rule had (pip's 'ERROR: "
        "Command errored out with exit status 1' building a package from source; an older pip refusing "
        "'--use-deprecated'; MySQL's zero date a Rust driver could not convert), a CI input job with 'no versions' "
        "read as a dependency, and a Prefect 1 leftover's AttributeError read as a version mismatch (a code fix). The "
        "wordings were added and it joined the model's training data. Today (tuned, in-sample for the model): "
        f"{b43[1]}/{b43[0]} with the model, {b43[4]}/{b43[0]} with the rules alone."
    )
    fr44, d44, b44 = BATCH44_FIRST_RUN, BATCH44_DECISIVE_FIRST_RUN, per_batch.get(44, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 44 ({fr44['n']} threads from bench/data/fresh_batch44.yaml, 14 categories with 1 to 17 cases each, "
        "130 GitHub repositories, 34 of them also in earlier data with other threads; no thread in batches 1-43, the "
        "training corpus or among those batches 34-43's collectors looked at) was gathered in a new session with a new "
        "search budget: nine collectors kept 135 of 3,003 threads, nine reviewers relabelled 2 and dropped 3, and 2 "
        "more were dropped at the merge (a thread already used, a second case from one repository); counts only. It "
        f"was run once against the rules tuned on batch 43 and the model retrained with it, frozen at commit "
        f"{FREEZE44}. **First run, rules + model: {fr44['right']}/{fr44['n']} ({fr44['right'] / fr44['n']:.1%}), "
        f"{fr44['hi_wrong']} wrong at >= 0.8, {fr44['unknown']} unknown**; the rules alone in the same run: "
        f"{fr44['rules_right']}/{fr44['n']} ({fr44['rules_right'] / fr44['n']:.1%}); decisive lines "
        f"{d44['plain']}/{d44['n']} alone, {d44['buried']}/{d44['n']} buried. Freeze 43's code scores 76/130 on it, "
        "freeze 20's 66/130, freeze 13's 56/130. Its 57 misses: 24 logs with wordings no rule had (git's 'Couldn't "
        "find remote ref' for a branch or a pull request's merge ref deleted before the build, 4 logs; an empty "
        "checkpoint directory; curl's 404 under exit 56; Azure CLI's missing login; 'Expected columns were not "
        "included'; a scraper's BeautifulSoup lookup on an element the site no longer has, 3 logs; GitHub Actions "
        "giving up on an action's archive; a provider install answered 504, read as a dependency; Apps Script's daily "
        "service quota, 2 logs; Vercel's FUNCTION_INVOCATION_TIMEOUT; BigQuery's shuffle capacity; etcd's space "
        "quota, 2 logs; subnets with no free IP; Doris' Kafka offset fallback; Oracle's ORA-00001; out-of-range "
        "longitudes; a feed's XML control character, read as SQL syntax), 12 logs whose wording other threads settle "
        "otherwise (a runner's shutdown signal the thread put down to memory; a registry's 403 on the token request "
        "from stale stored credentials; two Elasticsearch mapping refusals labelled one each way; a UnicodeDecodeError "
        "and an 'Invalid Date.' fixed in the code; 'No files found in export directory' from a validator written for "
        "daily data; an invalid XML character the service itself wrote; Hugging Face's 'Couldn't reach' with a 403 "
        "from a bucket whose billing was disabled; a checksum mismatch from a moved file; Gradle's missing SNAPSHOT; "
        "an API's 404 after the catalogue behind it was replaced), and 21 that do not state the cause (among them "
        "three tracebacks the thread's excerpt cut before their last line). The wordings were added and it joined "
        "the model's training data. Today (tuned, in-sample for the model): "
        f"{b44[1]}/{b44[0]} with the model, {b44[4]}/{b44[0]} with the rules alone."
    )
    fr45, d45, b45 = BATCH45_FIRST_RUN, BATCH45_DECISIVE_FIRST_RUN, per_batch.get(45, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 45 ({fr45['n']} threads from bench/data/fresh_batch45.yaml, 11 categories with 1 to 4 cases each, 22 "
        "GitHub repositories, 10 of them also in earlier data with other threads, and 1 forum thread; no thread in "
        "batches 1-44, the training corpus or among those batches 34-44's collectors looked at) was gathered in the "
        "same session with the last of its search budget after batch 44's changes were made: two collectors kept 34 "
        "of 1,090 threads, two reviewers dropped 3 and could not find 8 again within their budget (dropped); counts "
        "only. "
        "A small batch: its first run says little on its own. It was run once against the rules tuned on batch 44 and "
        f"the model retrained with it, frozen at commit {FREEZE45}. **First run, rules + model: "
        f"{fr45['right']}/{fr45['n']} ({fr45['right'] / fr45['n']:.1%}), {fr45['hi_wrong']} wrong at >= 0.8, "
        f"{fr45['unknown']} unknown**; the rules alone in the same run: {fr45['rules_right']}/{fr45['n']} "
        f"({fr45['rules_right'] / fr45['n']:.1%}); decisive lines {d45['plain']}/{d45['n']} alone, "
        f"{d45['buried']}/{d45['n']} buried. Freeze 44's code scores 19/23 too, freeze 20's 19/23, freeze 13's 18/23. "
        "Its 4 misses, studied in the next session: 3 logs with wordings no rule had (a git submodule pinned to a "
        "commit its repository no longer has; Home Assistant's 'unavailable' input state read as a number, which had "
        "read as a schema change; an old WebKit refusing a regular expression of the code) and a traceback the thread "
        "cut before its last line. The wordings were added and it joined the model's training data. Today (tuned, "
        f"in-sample for the model): {b45[1]}/{b45[0]} with the model, {b45[4]}/{b45[0]} with the rules alone."
    )
    fr46, d46, b46 = BATCH46_FIRST_RUN, BATCH46_DECISIVE_FIRST_RUN, per_batch.get(46, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 46 ({fr46['n']} threads from bench/data/fresh_batch46.yaml, 14 categories with 5 to 11 cases each, "
        "107 GitHub repositories, 26 of them also in earlier data with other threads, and 1 blog post; no thread in "
        "batches 1-45, the training corpus or among those batches 34-45's collectors looked at) was gathered in a new "
        "session with a new search budget: nine collectors kept 114 of 2,318 threads, nine reviewers relabelled 2, "
        "dropped 3 and could not find 1 again (dropped), and 2 second cases from one repository were dropped at the "
        "merge; counts only. It was run once against the rules tuned on batch 45 and the model retrained with it, "
        f"frozen at commit {FREEZE46}. **First run, rules + model: {fr46['right']}/{fr46['n']} "
        f"({fr46['right'] / fr46['n']:.1%}), "
        f"{fr46['hi_wrong']} wrong at >= 0.8, {fr46['unknown']} unknown**; the rules alone in the same run: "
        f"{fr46['rules_right']}/{fr46['n']} ({fr46['rules_right'] / fr46['n']:.1%}); decisive lines "
        f"{d46['plain']}/{d46['n']} alone, {d46['buried']}/{d46['n']} buried. Freeze 45's code scores 78/108 on it, "
        "freeze 20's 74/108, freeze 13's 68/108. Its 29 misses: 17 logs with wordings no rule had (Heroku's R15 "
        "memory quota; Oracle's ORA-00942 from tools reading the data dictionary without its grants, 3 logs, and "
        "ORA-01013 from a driver's own call timeout, 2 logs; SqlClient's command timeout; gunicorn's WORKER TIMEOUT; a "
        "Google Cloud quota of instances per region answered 429, read as a rate limit; Docker's exhausted address "
        "pools; Dapr's Kafka message given up on a cancelled group session; a CRLF script's '\\r': command not found, "
        "read as a missing command; RDKit's explicit valence; an Elasticsearch date field given an empty string, read "
        "as a schema change; a CUDA driver too old under glog's 'Check failed:', read as a data check; SQLAlchemy 2.0 "
        "refusing select([...]); GitHub Pages finding no uploaded artifact, read as a timeout from a 'timeout: 600000' "
        "input line), 2 wordings left alone as one-offs (a GTFS feed's missing shape points, an API's 'invalid-schema' "
        "after its server's upgrade), 5 whose wording other threads settle otherwise (exit code 137 from kubectl exec "
        "with no memory named; a NullPointerException on offset metadata after a group's offsets were reset; a "
        "KeyError from a changed API; a missing artifacts directory the CI configuration never attached; a JSON 'Key "
        "not found' from a changed API) and 5 that do not state the cause. The wordings were added and it joined the "
        "model's training data. Today (tuned, in-sample for the model): "
        f"{b46[1]}/{b46[0]} with the model, {b46[4]}/{b46[0]} with the rules alone."
    )
    fr47, d47, b47 = BATCH47_FIRST_RUN, BATCH47_DECISIVE_FIRST_RUN, per_batch.get(47, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 47 ({fr47['n']} threads from bench/data/fresh_batch47.yaml, 12 categories with 1 to 8 cases each, 33 "
        "GitHub repositories, 9 of them also in earlier data with other threads, and 1 vendor support page; no thread "
        "in batches 1-46, the training corpus or among those batches 34-46's collectors looked at) was gathered in the "
        "same session with the rest of its search budget after batch 46's changes were made: four collectors kept 37 "
        "of 836 threads, four reviewers could not find 3 again within their budget (dropped, among them the only "
        "timeout case); counts only. A small batch: its first run says little on its own. It was run once against the "
        f"rules tuned on batch 46 and the model retrained with it, frozen at commit {FREEZE47}. **First run, rules + "
        f"model: {fr47['right']}/{fr47['n']} ({fr47['right'] / fr47['n']:.1%}), {fr47['hi_wrong']} wrong at >= 0.8, "
        f"{fr47['unknown']} unknown**; the rules alone in the same run: {fr47['rules_right']}/{fr47['n']} "
        f"({fr47['rules_right'] / fr47['n']:.1%}); decisive lines {d47['plain']}/{d47['n']} alone, "
        f"{d47['buried']}/{d47['n']} buried (a JSON error body the excerpt shows as its message, the last line of a "
        "job's output that does not name its cause, Gradle's vanished daemon). Freeze 46's code scores 23/34 too, "
        "freeze 20's 23/34, freeze 13's 21/34. Its 11 misses: 7 logs with wordings no rule had (Gradle's daemon "
        "gone, settled as memory as in batch 37; Backblaze B2's bad_auth_token; PostGIS refusing a one-point polygon; "
        "Snakemake's CreateCondaEnvironmentException; an R package's configure finding an older PROJ; curl's "
        "'Resolving timed out', read as a timeout; BigQuery's query without its table's required partition filter), 2 "
        "wordings left alone (Odoo skipping a database of an older base version; a download 'Failed after 5 attempts' "
        "that does not say what failed), 1 whose wording other threads settle otherwise (a 404 from a dependency "
        "service that was down) and 1 that does not state the cause. The wordings were added and it joined the "
        f"model's training data. Today (tuned, in-sample for the model): {b47[1]}/{b47[0]} with the model, "
        f"{b47[4]}/{b47[0]} with the rules alone."
    )
    fr48, d48, b48 = BATCH48_FIRST_RUN, BATCH48_DECISIVE_FIRST_RUN, per_batch.get(48, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 48 ({fr48['n']} threads from bench/data/fresh_batch48.yaml, 14 categories with 3 to 13 cases each, "
        "107 GitHub repositories, 26 of them also in earlier data with other threads; no thread in batches 1-47, the "
        "training corpus or among those batches 34-47's collectors looked at) was gathered in a new session with a new "
        "search budget: nine collectors kept 129 of 3,149 threads, nine reviewers dropped 17 whose threads never "
        "settle the cause and could not verify 2 (dropped), and the merge dropped 1 thread already cited and 2 "
        "second cases from one repository; counts only. It was run once against the rules tuned on batch 47 and the "
        f"model retrained with it, frozen at commit {FREEZE48}. **First run, rules + model: "
        f"{fr48['right']}/{fr48['n']} ({fr48['right'] / fr48['n']:.1%}), {fr48['hi_wrong']} wrong at >= 0.8, "
        f"{fr48['unknown']} unknown**; the rules alone in the same run: {fr48['rules_right']}/{fr48['n']} "
        f"({fr48['rules_right'] / fr48['n']:.1%}); "
        f"decisive lines {d48['plain']}/{d48['n']} alone, {d48['buried']}/{d48['n']} buried. Freeze 47's code scores "
        "70/107 too, freeze 20's 63/107, freeze 13's 59/107. Its 37 misses: 19 logs with wordings no rule had "
        "(TensorFlow Datasets' 404 for a source archive, read by the model as the network; the SRA toolkit's accession "
        "with no data, read as a name lookup; Elasticsearch's 'unauthorized for user [..] with roles', read as "
        "credentials; ssh's 'Host key verification failed'; git's untrusted self-signed certificate above the cd that "
        "failed after it, read as a missing directory; dbt's incremental schemas out of sync, read as a compilation "
        "error; protobuf's unexpected wire type; Telegram's FloodWait, 2 logs; R's pkg::name on a package of another "
        "version, read as a missing input; a wrapped UnsatisfiedLinkError; Docker's unreachable registry endpoint; SQL "
        "Server ODBC's broken connection; MySQL's full table; MariaDB's temporary file write failure; cron's bad "
        "username; Shapely's TopologicalError; CUDA's device-side assert, bad labels in all four threads that show it; "
        "pm2's exit via SIGINT), 1 whose wording no rule can reach (Karma's log4js lines are read as no error block), "
        "3 wordings left alone as one-offs (a feed URL answering 'not a zip file'; a GTFS trip without its last stop "
        "time; Prometheus' head chunks without maxt), 9 whose wording other threads settle otherwise (a KeyError and a "
        "'too many values to unpack' from an input's changed columns; a fork failure, a SignatureDoesNotMatch and a "
        "dbt snapshot's invalid identifier each fixed in the tool; a plain-text answer parsed as JSON; a migration "
        "naming a column before it exists; exit code 137 with no memory named, 2 logs, settled as memory here and as "
        "a kill in batch 46) and 5 that do not state the cause. The wordings were added and it joined the model's "
        f"training data. Today (tuned, in-sample for the model): {b48[1]}/{b48[0]} with the model, "
        f"{b48[4]}/{b48[0]} with the rules alone."
    )
    fr49, d49, b49 = BATCH49_FIRST_RUN, BATCH49_DECISIVE_FIRST_RUN, per_batch.get(49, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 49 ({fr49['n']} threads from bench/data/fresh_batch49.yaml, 11 categories with 1 to 6 cases each, 34 "
        "GitHub repositories, 3 of them also in earlier data with other threads; no thread in batches 1-48, the "
        "training corpus or among those batches 34-48's collectors looked at) was gathered in the same session with "
        "the rest of its search budget after batch 48's changes were made: two collectors kept 40 of 563 threads, two "
        "reviewers dropped 4 whose threads never settle the cause and could not check 2 within their budget "
        "(dropped); counts only. A small batch: its first run says little on its own. It was run once against the "
        f"rules tuned on batch 48 and the model retrained with it, frozen at commit {FREEZE49}. **First run, rules + "
        f"model: {fr49['right']}/{fr49['n']} ({fr49['right'] / fr49['n']:.1%}), {fr49['hi_wrong']} wrong at >= 0.8, "
        f"{fr49['unknown']} unknown**; the rules alone in the same run: {fr49['rules_right']}/{fr49['n']} "
        f"({fr49['rules_right'] / fr49['n']:.1%}); decisive lines {d49['plain']}/{d49['n']} alone, "
        f"{d49['buried']}/{d49['n']} buried (a JSON record the excerpt shows as its message). Freeze 48's code scores "
        "29/34 too, freeze 20's 29/34, freeze 13's 28/34: an easier batch, not a better classifier. Its 5 misses: 1 "
        "log with a wording no rule had (syncthing-inotify asking for higher inotify limits), 3 whose wording other "
        "threads settle otherwise (a Windows 'Access is denied' on a cloud drive's temporary file and a 'Permission "
        "denied' on /run/user, each a bug fixed in the tool, the first answered confidently wrong; a CSV import's "
        "'Column mismatch' the tool fixed) and 1 that does not state the cause (an alarm fired an hour late after a "
        "change of daylight saving time). The wording was added and it joined the model's training data. Today "
        f"(tuned, in-sample for the model): {b49[1]}/{b49[0]} with the model, {b49[4]}/{b49[0]} with the rules alone."
    )
    fr50, d50, b50 = BATCH50_FIRST_RUN, BATCH50_DECISIVE_FIRST_RUN, per_batch.get(50, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 50 ({fr50['n']} threads from bench/data/fresh_batch50.yaml, 14 categories with 4 to 9 cases each, 99 "
        "GitHub repositories, 42 of them also in earlier data with other threads, and 4 other pages; no thread in "
        "batches 1-49, the training corpus or among those batches 34-49's collectors looked at) was gathered in a new "
        "session with a new search budget: eight collectors kept 111 of 2,021 threads, nine reviewers dropped 6 whose "
        "threads never settle the cause, and the merge dropped 1 thread already used and 1 second case from one "
        "repository; counts only. It was run once against the rules tuned on batch 49 and the model retrained with "
        f"it, frozen at commit {FREEZE50}. **First run, rules + model: {fr50['right']}/{fr50['n']} "
        f"({fr50['right'] / fr50['n']:.1%}), {fr50['hi_wrong']} wrong at >= 0.8, {fr50['unknown']} unknown**; the "
        f"rules alone in the same run: {fr50['rules_right']}/{fr50['n']} ({fr50['rules_right'] / fr50['n']:.1%}); "
        f"decisive lines {d50['plain']}/{d50['n']} alone, {d50['buried']}/{d50['n']} buried (101 with the excerpt "
        "change committed after the freeze and before the batch was read, a296a0d, which shows a JSON record as "
        "written). Freeze 48's code scores 71/103, freeze 20's 59/103, freeze 13's 58/103. Its 34 misses: 19 logs "
        "with wordings no rule had (Elasticsearch's parent circuit breaker; download-artifact's missing artifact; "
        "MySQL's 1236, a removed WAL segment and MongoDB's ChangeStreamHistoryLost, a replication source's log past "
        "the position asked for; svn's E170000 for a data file not imported yet; DVC's 'Failed to authenticate' over "
        "a missing key file, read by the model as a missing input; JSch's 'Auth fail'; Go's 'cannot unmarshal ... "
        "into Go value'; conda's ResolvePackageNotFound; Cargo's required edition2021; etcd's 'leader changed'; "
        "regrtest's 'Timeout (0:20:00)!'; Heroku's H12, read as the network; PBS' walltime beside the SIGTERM it "
        "sent, read as a kill; Jenkins resuming after its restart, 2 logs, one read by the model as a timeout; a "
        "host halted by its power button; Groovy's MissingPropertyException), 1 whose wording was added but does "
        "not reach it (ssl's 'The read operation timed out', split by the line numbers of the copy), 3 wordings "
        "left alone as one-offs (a geo_point latitude out of range, split across two lines; calcurse's malformed "
        "event, no error block; Singularity failing to mount tmpfs, settled by another version), 5 whose wording "
        "other threads settle otherwise (an incomplete read while the exchange had not yet published the day's "
        "file; two 'NoneType' attribute errors of scrapers after the site changed its layout; a 404 from the "
        "Hugging Face Hub during its incident; an ImagePullBackOff during the registry's outage) and 6 that do not "
        "state the cause. The wordings were added and it joined the model's training data. Today (tuned, in-sample "
        f"for the model): {b50[1]}/{b50[0]} with the model, {b50[4]}/{b50[0]} with the rules alone."
    )
    fr51, d51, b51 = BATCH51_FIRST_RUN, BATCH51_DECISIVE_FIRST_RUN, per_batch.get(51, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 51 ({fr51['n']} threads from bench/data/fresh_batch51.yaml, 13 categories with 1 to 3 cases each "
        "and no kafka_consumer case, 33 GitHub repositories, 17 of them also in earlier data with other threads; no "
        "thread in "
        "batches 1-50, the training corpus or among those batches 34-50's collectors looked at) was gathered in the "
        "same session with the rest of its search budget after batch 50's changes were made: two collectors kept 33 "
        "of 622 threads and two reviewers kept all 33; counts only. A small batch: its first run says little on its "
        f"own. It was run once against the rules tuned on batch 50 and the model retrained with it, frozen at commit "
        f"{FREEZE51}. **First run, rules + model: {fr51['right']}/{fr51['n']} ({fr51['right'] / fr51['n']:.1%}), "
        f"{fr51['hi_wrong']} wrong at >= 0.8, {fr51['unknown']} unknown**; the rules alone in the same run: "
        f"{fr51['rules_right']}/{fr51['n']} ({fr51['rules_right'] / fr51['n']:.1%}); decisive lines "
        f"{d51['plain']}/{d51['n']} alone, {d51['buried']}/{d51['n']} buried. Freeze 50's code scores 19/33 too, "
        "freeze 20's 19/33, freeze 13's 20/33: a harder batch, not worse code. Its 14 misses: 9 logs with wordings no "
        "rule had (an expired grid proxy's 'PEM file has expired'; Java's PKIX 'validity check failed', read as a "
        "data check; PBS killing a job past its memory request, read as a kill; kraken2's database without a file "
        "its build step had not written yet; Cactus' invalid character in a FASTA header; DESeq2's fractional "
        "counts, 2 logs; Groovy's GroovyCastException, read as a schema mismatch; Jenkins' 'Aborted by' a person), 1 "
        "whose wording the rules could not reach (dash's 'not found' for a program not installed, with the tool's "
        "empty output files after it read as a missing input), 1 wording left alone as a one-off (HMMER reading a "
        "saved 404 page as its model file), 2 whose wording other threads settle otherwise (PostgreSQL's 'invalid "
        "input syntax for type bigint' from a column type the schema file set wrongly; GitHub Actions' 'The "
        "operation was canceled.' at a job's own timeout-minutes) and 1 that does not state the cause (a 422 from "
        "an API past its pagination ceiling). The wordings were added; the model was not retrained on it: the retrain "
        "chose C=30 answering from 0.8 (as at the first runs of batches 5-51 2,519/3,591 right, 380 wrong), and a "
        "trainer that let the model answer up to 3% of the cause-less logs with an error block, as it already may of "
        "those without one, answered from 0.4 (2,685 right, 432 wrong) but named a cause (oom, 0.61) for a corpus "
        "log that states none ('worker crashed', exit status 1), so it was not adopted; the C=30 model, overwritten "
        "by that trial, was not rebuilt within the session. The next session retrained it on batch 51 with the "
        "trainer as committed (C=30 from 0.8, 4,218 logs) before it read batch 52: that model is freeze 52's. "
        f"Today (tuned, in-sample for the model): {b51[1]}/{b51[0]} with the model, {b51[4]}/{b51[0]} with the "
        "rules alone."
    )
    fr52, d52, b52 = BATCH52_FIRST_RUN, BATCH52_DECISIVE_FIRST_RUN, per_batch.get(52, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 52 ({fr52['n']} threads from bench/data/fresh_batch52.yaml, all 14 categories with 2 to 8 cases "
        "each, 99 GitHub repositories, 35 of them also in earlier data with other threads, and a developer's blog "
        "post; no thread in batches 1-51, the training corpus or among those batches 34-51's collectors looked at) "
        "was gathered in a new session with a fresh search budget: eight collectors kept 102 of 2,399 threads, nine "
        "reviewers dropped 1 and merge 1 already used; counts only. It was run once against the rules tuned on batch "
        f"51 and the model retrained with it, frozen at commit {FREEZE52}. **First run, rules + model: "
        f"{fr52['right']}/{fr52['n']} ({fr52['right'] / fr52['n']:.1%}), {fr52['hi_wrong']} wrong at >= 0.8 (a "
        f"Jenkins agent cut off by an update of its JVM, read as the network), {fr52['unknown']} unknown**; the rules "
        f"alone in the same run: {fr52['rules_right']}/{fr52['n']} ({fr52['rules_right'] / fr52['n']:.1%}); decisive "
        f"lines {d52['plain']}/{d52['n']} alone, {d52['buried']}/{d52['n']} buried. The code the session before ended "
        "with (96fe211: the same rules, the model trained through batch 50) scores 66/100, freeze 50's 65/100, "
        "freeze 20's 61/100, freeze 13's 58/100. Its 37 misses: 18 logs with wordings no rule had (Go's plain "
        "'context deadline exceeded', the "
        "caller's own deadline, 2 logs, and Hypothesis' per-example deadline, all read as the network; a 403 whose "
        "message names the token, read as access; Firebase's 'requires authentication' and 'login --reauth'; IBM "
        "i's 'File X in library Y not found'; BigQuery's 'has changed type' on a column named product_version, "
        "vetoed by a rule's 'version'; GraphQL's missing field on a type, 2 logs; JSON Schema's 'Failed "
        "validating'; .NET's Enum.Parse 'Requested value ... was not found'; TensorFlow's 'Invalid JPEG data'; "
        "psycopg's timestamp before year 1; SQLAlchemy's undefined enum value, read as code; dbt's package written "
        "for another dbt; Redis' MISCONF; Cirrus CI's 'Signaled to exit!'), 1 the model read right below its "
        "threshold (a bare 'Killed' with make's Error 137: oom at 0.60), 3 one-offs left alone, 8 whose wording "
        "other threads settle otherwise and 7 that do not state the cause. The wordings were added (every other "
        "bench log: 3 more 'context deadline exceeded' logs from wrong to right, none from right to wrong; the "
        "rules alone gained 8 older logs). "
        "Its first run also showed where the combination loses: the packaged model alone, always naming its most "
        "probable class, read 75 of the 100 right, against the combination's 63: 15 of the misses were the model's "
        "first choice, held back by its threshold of 0.8 or overruled by a rule. At the first runs of batches 28-51 "
        "the model alone (fitted on what came before each) beat the combination on 22 of 24 batches. The threshold "
        "stood at 0.8 because one corpus log that states no cause (a crashed reindex worker, exit status 1) read "
        "as oom at 0.61-0.75 set the floor, while every other cause-less log stayed under 0.3. The trainer now sets "
        "aside the loudest 3% of the cause-less logs with an error block, as it already did for those without one; "
        "the fresh batches hold logs that do not state their cause, where an answer counts as wrong, so vague "
        "failure text is weighed there. Retrained with batch 52 (4,318 logs) it chose C=10, answering from 0.4, "
        "rules trusted from 0.75, rule weight 0.5, and from 0.8 without a block: as at the first runs of batches "
        "5-52, 2,753 of 3,691 right (74.6%) and 450 wrong, where the committed trainer had chosen 2,519 of 3,591 "
        "right (70.1%) and 380 wrong on batches 5-51 (thresholds chosen on these same first runs: batch 53 is the "
        "check). The corpus log is now the model's guess, oom at 0.61, never a rule's and never a confident one; "
        f"its expectation says so. Today (tuned, in-sample for the model): {b52[1]}/{b52[0]} with the model, "
        f"{b52[4]}/{b52[0]} with the rules alone."
    )
    fr53, d53, b53 = BATCH53_FIRST_RUN, BATCH53_DECISIVE_FIRST_RUN, per_batch.get(53, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 53 ({fr53['n']} threads from bench/data/fresh_batch53.yaml, 13 categories with 1 to 3 cases each "
        "and no kafka_consumer case, 31 GitHub repositories, 7 of them also in earlier data with other threads; no "
        "thread in batches 1-52, the training corpus or among those batches 34-52's collectors looked at) was "
        "gathered in the same session with the rest of its search budget after batch 52's changes were made: two "
        "collectors kept 31 of 612 threads and three reviewers kept all 31; counts only. A small batch: its first "
        "run says little on its own. It was run once against the rules tuned on batch 52 and the model retrained "
        f"with it by the trainer whose floor sets aside the loudest 3%, frozen at commit {FREEZE53}. **First run, "
        f"rules + model: {fr53['right']}/{fr53['n']} ({fr53['right'] / fr53['n']:.1%}), {fr53['hi_wrong']} wrong at "
        f">= 0.8, {fr53['unknown']} unknown**; the rules alone in the same run: {fr53['rules_right']}/{fr53['n']} "
        f"({fr53['rules_right'] / fr53['n']:.1%}); decisive lines {d53['plain']}/{d53['n']} alone, "
        f"{d53['buried']}/{d53['n']} buried. Freeze 52's code scores 24/31, freeze 20's 22/31, freeze 13's 18/31. "
        "Its 6 misses: 4 logs with wordings no rule had (git's 'reference is not a tree' for a submodule commit a "
        "force push removed, 2 logs; Cadence's WorkflowExecutionTimedOut, which the extractor did not see, read as "
        "a kill; a PodDisruptionBudget refusing a drain's evictions, read as a rate limit from its 'will retry "
        "after 5s') and 2 whose wording other threads settle otherwise (a KeyError after a site renamed a key of "
        "its API; a drain that 'did not complete within 1h' because of such a budget, read as the network). The "
        "wordings were added, and the model was retrained with it at the start of the next session (freeze 54). "
        f"Today (tuned, in-sample for the model): {b53[1]}/{b53[0]} with the model, {b53[4]}/{b53[0]} with the rules "
        "alone."
    )
    fr54, d54, b54 = BATCH54_FIRST_RUN, BATCH54_DECISIVE_FIRST_RUN, per_batch.get(54, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 54 ({fr54['n']} threads from bench/data/fresh_batch54.yaml, all 14 categories with 1 to 8 cases "
        "each, 81 GitHub repositories, 33 of them also in earlier data with other threads; no thread in batches "
        "1-53, the training corpus or among those batches 34-53's collectors looked at) was gathered at the start "
        "of a new session with a new search budget: seven collectors kept 85 of 2,217 threads, seven reviewers "
        "dropped 1 and left 2 unverified that an eighth could not find again either (both dropped), and the merge "
        "dropped 1 already used; counts only. It was run once against the rules tuned on batch 53 and the model "
        f"retrained with it, frozen at commit {FREEZE54}. **First run, rules + model: {fr54['right']}/{fr54['n']} "
        f"({fr54['right'] / fr54['n']:.1%}), {fr54['hi_wrong']} wrong at >= 0.8 (canal's binlog parser finding "
        "more columns than it cached, read as a SQL syntax error from its ParseException), "
        f"{fr54['unknown']} unknown**; the rules alone in the same run: {fr54['rules_right']}/{fr54['n']} "
        f"({fr54['rules_right'] / fr54['n']:.1%}); decisive lines {d54['plain']}/{d54['n']} alone, "
        f"{d54['buried']}/{d54['n']} buried. The code the session before ended with (337f402: the same rules, the "
        "model trained through batch 52) scores 58/81 too, freeze 53's 57/81, freeze 20's 52/81, freeze 13's 46/81; "
        "the packaged model alone, always naming its most probable class, 59/81 (batch 52's gap of 12 between the "
        "two is gone since the trainer's floor changed). Its 23 misses: 13 logs with wordings no rule had (Bazel's "
        "'TIMEOUT in 3 out of 3'; SQL Server's 'Invalid object name'; Pillow's 'cannot identify image file', "
        "libsndfile's 'unknown format' and h5py's 'truncated file', 3 logs, on damaged data files; Biopython's "
        "'Duplicate key' on a FASTA record; Alibaba Cloud's access key 'not found or invalid' and 'is empty', and "
        "'login failed' written in Chinese; a KeyError on the environment variable of a secret a CI job was not "
        "given; canal's column count), 5 one-offs left alone (a CDC offset the server had recycled, netCDF's 'HDF "
        "error' on a corrupt file, Elasticsearch's index write block from a race, a duplicate state entry after a "
        "regression, an Iceberg commit conflict), 1 whose wording other threads settle otherwise (SQLAlchemy's "
        "QueuePool limit: 7 other bench threads are resource_exhausted, this one a session leak) and 4 that do not "
        "state the cause. The wordings were added (every other bench log: no answer changed; the rules alone gained "
        f"2 older Bazel timeouts). Today (tuned, in-sample for the model): {b54[1]}/{b54[0]} with the model, "
        f"{b54[4]}/{b54[0]} with the rules alone."
    )
    fr55, d55, b55 = BATCH55_FIRST_RUN, BATCH55_DECISIVE_FIRST_RUN, per_batch.get(55, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 55 ({fr55['n']} threads from bench/data/fresh_batch55.yaml, 13 categories with 1 to 3 cases each "
        "and no killed_external case, 30 GitHub repositories, 8 of them also in earlier data with other threads; no "
        "thread in batches 1-54, the training corpus or among those batches 34-54's collectors looked at) was "
        "gathered in the same session with the rest of its search budget, before batch 54's changes were made: "
        "three collectors kept 30 of 680 threads and three reviewers kept all 30; counts only. A small batch: its "
        "first run says little on its own. It was run once against the rules tuned on batch 54 and the model "
        f"retrained with it, frozen at commit {FREEZE55}. **First run, rules + model: {fr55['right']}/{fr55['n']} "
        f"({fr55['right'] / fr55['n']:.1%}), {fr55['hi_wrong']} wrong at >= 0.8, {fr55['unknown']} unknown**; the "
        f"rules alone in the same run: {fr55['rules_right']}/{fr55['n']} ({fr55['rules_right'] / fr55['n']:.1%}); "
        f"decisive lines {d55['plain']}/{d55['n']} alone, {d55['buried']}/{d55['n']} buried. Freeze 54's code scores "
        "23/30 too, freeze 20's 23/30, freeze 13's 20/30; the packaged model alone 24/30. Its 7 misses: 3 logs with "
        "wordings no rule had (Docker's 'could not find image: no such id' for a tag no image was built for; "
        "CPython's SystemError 'unknown opcode', a flow pickled under another Python; SeaTunnel's 'Checkpoint "
        "expired before completing') and 4 whose wording other threads settle otherwise (an SFTP 'Permission "
        "denied' after the account's password expired; a Lambda 'Task timed out after 30.03 seconds' that AWS "
        "put down to network latency, where 8 other bench threads are timeouts; Elasticsearch's 'Invalid format: "
        "... is malformed at' on date values, 2 logs, which earlier threads split between the mapping and the "
        "data). The wordings were added (every other bench log: no answer changed), and the model was retrained "
        f"with it. Today (tuned, in-sample for the model): {b55[1]}/{b55[0]} with the model, {b55[4]}/{b55[0]} "
        "with the rules alone."
    )
    fr56, d56, b56 = BATCH56_FIRST_RUN, BATCH56_DECISIVE_FIRST_RUN, per_batch.get(56, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 56 ({fr56['n']} threads from bench/data/fresh_batch56.yaml, 12 categories with 1 or 2 cases each "
        "and no killed_external or kafka_consumer case, 15 GitHub repositories, 9 of them also in earlier data with "
        "other threads, and a blog post; no thread in batches 1-55, the training corpus or among those batches "
        "34-55's collectors looked at) was gathered in the same session with the last of its search budget, after "
        "batch 55's wordings were made: two collectors kept 17 of 594 threads and one reviewer dropped 1; counts "
        "only. A small batch: its first run says little on its own. It was run once against the rules tuned on "
        f"batch 55 and the model retrained with it, frozen at commit {FREEZE56}. **First run, rules + model: "
        f"{fr56['right']}/{fr56['n']} ({fr56['right'] / fr56['n']:.1%}), {fr56['hi_wrong']} wrong at >= 0.8, "
        f"{fr56['unknown']} unknown**; the rules alone in the same run: {fr56['rules_right']}/{fr56['n']} "
        f"({fr56['rules_right'] / fr56['n']:.1%}); decisive lines {d56['plain']}/{d56['n']} alone, "
        f"{d56['buried']}/{d56['n']} buried. Freeze 55's code scores 13/16 too, freeze 20's 13/16, freeze 13's "
        "14/16. Its 3 misses were all wordings no rule had (Iceberg's 'Unable to list files in partition' for a "
        "partition directory gone from storage; gcc's 'fatal error: gsl/gsl_vector.h: No such file or directory', "
        "a library's -dev package never installed, read as a missing input; Business Central's task that 'took "
        "longer to complete than expected'). The wordings were added (every other bench log: no answer changed), "
        f"and the model was retrained with it. Today (tuned, in-sample for the model): {b56[1]}/{b56[0]} with the "
        f"model, {b56[4]}/{b56[0]} with the rules alone."
    )
    fr57, d57, b57 = BATCH57_FIRST_RUN, BATCH57_DECISIVE_FIRST_RUN, per_batch.get(57, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 57 ({fr57['n']} threads from bench/data/fresh_batch57.yaml, all 14 categories with 4 to 9 cases "
        "each, 106 GitHub repositories, 24 of them also in earlier data with other threads; no thread in batches "
        "1-56, the training corpus or among those batches 34-56's collectors looked at) was gathered at the start "
        "of a new session with a new search budget: seven collectors kept 108 of 2,059 threads, seven reviewers "
        "dropped 2, relabelled 1 and left 1 unverified that an eighth kept; counts, with closing remarks (one named "
        "three kafka_consumer threads it found thin). It was run once against the rules tuned on batch 56 and the "
        f"model retrained with it, frozen at commit {FREEZE57}. **First run, rules + model: "
        f"{fr57['right']}/{fr57['n']} ({fr57['right'] / fr57['n']:.1%}), {fr57['hi_wrong']} wrong at >= 0.8 "
        "(Django's SystemCheckError on a directory the service could not write, read as a data check; gunicorn's "
        "SIGKILL after its own WORKER TIMEOUT, read as memory from the kill's 'Perhaps out of memory?'), "
        f"{fr57['unknown']} unknown**; the rules alone in the same run: {fr57['rules_right']}/{fr57['n']} "
        f"({fr57['rules_right'] / fr57['n']:.1%}); decisive lines {d57['plain']}/{d57['n']} alone, "
        f"{d57['buried']}/{d57['n']} buried. Freeze 56's code scores 73/106 too, freeze 20's 68/106, freeze 13's "
        "67/106; the packaged model alone, always naming its most probable class, 78/106. Its 33 misses: 14 logs "
        "with wordings no rule had (DuckDB's 'failed to pin block', kafka-python's 'Requires group_id', the Java "
        "client's position asked for a partition not assigned to it, a directory 'not writeable', gunicorn's kill "
        "after WORKER TIMEOUT, DingTalk's 'send too fast, exceed 20 times per minute', ClickHouse's "
        "UNKNOWN_IDENTIFIER for a column a view lacked, Python's 'year is out of range', dash's 'not found' quoted "
        "in a caller's error, a GitHub action's version gone, Ansible's module of a collection not installed, "
        "pandas-datareader's ImmediateDeprecationError for a discontinued source, a workflow file GitHub refused, "
        "pgBackRest's AssertError), 4 whose wording other threads would settle otherwise or that name a cause of "
        "another category (a segfault from too little memory; a panic on an unsupported PostgreSQL version; a "
        "Zabbix binary against a newer database schema; pickle's 'invalid load key' on an HTML page) and 15 that "
        "do not state the cause (a cancelled run, a pruned image, an API retired behind a 403 or Yahoo's 999, a "
        "token retired behind curl -sf, a query cancelled at a limit hard-coded in the client). The wordings were "
        "added (every other bench log: no answer changed), and the model was retrained with it. Today (tuned, "
        f"in-sample for the model): {b57[1]}/{b57[0]} with the model, {b57[4]}/{b57[0]} with the rules alone."
    )
    fr58, d58, b58 = BATCH58_FIRST_RUN, BATCH58_DECISIVE_FIRST_RUN, per_batch.get(58, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 58 ({fr58['n']} threads from bench/data/fresh_batch58.yaml, 13 categories with 1 to 4 cases each "
        "and no killed_external case, 38 GitHub repositories, 12 of them also in earlier data with other threads, "
        "and a Databricks knowledge-base article; no thread in batches 1-57, the training corpus or among those "
        "batches 34-57's collectors looked at) was gathered in the same session with the rest of its search budget, "
        "while batch 57 was reviewed and studied: four collectors kept 41 of 738 threads, four reviewers dropped 1 "
        "and the merge a second case from one repository; counts only. A small batch: about +-15 points. It was run "
        f"once against the rules tuned on batch 57 and the model retrained with it, frozen at commit {FREEZE58}. "
        f"**First run, rules + model: {fr58['right']}/{fr58['n']} ({fr58['right'] / fr58['n']:.1%}), "
        f"{fr58['hi_wrong']} wrong at >= 0.8, {fr58['unknown']} unknown**; the rules alone in the same run: "
        f"{fr58['rules_right']}/{fr58['n']} ({fr58['rules_right'] / fr58['n']:.1%}); decisive lines "
        f"{d58['plain']}/{d58['n']} alone, {d58['buried']}/{d58['n']} buried. Freeze 57's code scores 29/39 too, "
        "freeze 20's 26/39, freeze 13's 26/39; the packaged model alone 31/39. Its 10 misses: 5 logs with wordings "
        "no rule had (bash's 'Killed' under a Chinese locale, '已杀死'; argparse refusing an option's value; the "
        "VPC CNI with no address left for a pod; Fluent Bit's 'caught signal (SIGSEGV)'; brod's member "
        "'re-joining group'), 2 whose wording other threads settle otherwise (GitHub Actions' 'The operation was "
        "canceled', 7 bench threads a kill and 5 a timeout; apt's 'Unable to fetch some archives' after a 404, a "
        "stale package index here, the network or a missing release elsewhere), 1 one-off left alone (a weather "
        "reading under a validator's bound, 'must be greater than or equal to 800', which reads as well as a "
        "configuration check) and 2 that do not state the cause (a restic repository left locked by a prune that "
        "ran out of memory, a Nextflow process's bare exit status). The wordings were added (every other bench log: no "
        "answer changed), and the model was retrained with it. Today (tuned, in-sample for the model): "
        f"{b58[1]}/{b58[0]} with the model, {b58[4]}/{b58[0]} with the rules alone."
    )
    fr59, d59, b59 = BATCH59_FIRST_RUN, BATCH59_DECISIVE_FIRST_RUN, per_batch.get(59, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 59 ({fr59['n']} threads from bench/data/fresh_batch59.yaml, 11 categories with 1 or 2 cases each "
        "and no killed_external, kafka_consumer or code_bug case, 14 GitHub repositories, 3 of them also in earlier "
        "data with other threads; no thread in batches 1-58, the training corpus or among those batches 34-58's "
        "collectors looked at) was gathered in the same session with the last of its search budget, after batch "
        "58's wordings were made: two collectors kept 14 of 467 threads and two reviewers kept all; counts only. A "
        "small batch: about +-20 points. It was run once against the rules tuned on batch 58 and the model retrained "
        f"with it, frozen at commit {FREEZE59}. **First run, rules + model: {fr59['right']}/{fr59['n']} "
        f"({fr59['right'] / fr59['n']:.1%}), {fr59['hi_wrong']} wrong at >= 0.8, {fr59['unknown']} unknown**; the "
        f"rules alone in the same run: {fr59['rules_right']}/{fr59['n']} ({fr59['rules_right'] / fr59['n']:.1%}); "
        f"decisive lines {d59['plain']}/{d59['n']} alone, {d59['buried']}/{d59['n']} buried. Freeze 58's code "
        "scores 12/14 too, freeze 20's 12/14, freeze 13's 11/14; the packaged model alone 13/14. Its 2 misses do "
        "not state the cause (BigQuery's 'JSON table encountered too many errors' for columns a schema lacked; a "
        "CI job's step timings, cancelled at the job's limit), so no wording was added; the model was retrained "
        f"with it. Today (in-sample for the model): {b59[1]}/{b59[0]} with the model, {b59[4]}/{b59[0]} with the "
        "rules alone."
    )
    fr60, d60, b60 = BATCH60_FIRST_RUN, BATCH60_DECISIVE_FIRST_RUN, per_batch.get(60, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 60 ({fr60['n']} threads from bench/data/fresh_batch60.yaml, all 14 categories, 7 to 9 cases each "
        "but killed_external 1 and kafka_consumer 2, 99 GitHub repositories, 24 of them also in earlier data with "
        "other threads; no thread in batches 1-59, the training corpus or among those batches 34-59's collectors "
        "looked at) was gathered at the start of a new session with a new search budget: seven collectors kept 99 "
        "of 2,033 threads, seven reviewers relabelled 1 and left 1 unverified that an eighth kept; counts, with "
        "closing remarks (one named its killed_external case, an SSH session's 'Broken pipe', as one that could "
        "read as the network). It was run once against the rules tuned on batch 58 (batch 59 had no wordings) and "
        f"the model retrained with batch 59, frozen at commit {FREEZE60}. **First run, rules + model: "
        f"{fr60['right']}/{fr60['n']} ({fr60['right'] / fr60['n']:.1%}), {fr60['hi_wrong']} wrong at >= 0.8, "
        f"{fr60['unknown']} unknown**; the rules alone in the same run: {fr60['rules_right']}/{fr60['n']} "
        f"({fr60['rules_right'] / fr60['n']:.1%}); decisive lines {d60['plain']}/{d60['n']} alone, "
        f"{d60['buried']}/{d60['n']} buried (tippecanoe's GeoJSON parse error, a line with no error word, was "
        "lost among the noise). Freeze 59's code scores 70/99, freeze 20's 66/99, freeze 13's 63/99; the packaged "
        "model alone 74/99. Its 28 misses: 12 logs with wordings no rule had (pandas' 'not found in axis', astropy's "
        "FITS keyword and h5py's attribute a file lacks, NCL's 'variable (lat) is not in file', a PyTorch checkpoint "
        "of another shape: three of them KeyErrors and one a RuntimeError the rules had read as the code's own; "
        "Gmail's 'Username and Password not accepted'; Pelican's 'is not a valid date', read as a schema; expat's "
        "'junk after document element'; tippecanoe's GeoJSON parse error; GitHub's expression parser, js-yaml and "
        "Hugo refusing the project's own files), 9 whose wording reads as another category or that other threads "
        "settle otherwise (a 401 from an rclone regression; curl's error 28 at Packagist, 2 bench threads a timeout "
        "and 2 the network; a 404 from an unstable Bintray; an SSH session's 'Broken pipe'; librdkafka's timed-out "
        "commit requests; SQL Server's duplicate key under a new unique index, a bug in another thread; Jekyll's "
        "invalid date in a vendored template, fixed in the theme's configuration; a data check that was itself the "
        "bug; datasets missing at a site, labelled the code's), 2 bare KeyErrors on a key a file lacked (in the bench"
        " threads before this batch a KeyError ending the log is a schema in 18 and the code's own in 14, too close "
        "for a rule to settle, so the rules' guess of the code, below what the model may overrule, stays), 1 one-off "
        "left alone (jotta-cli's 'stat ... failed: Warning: Mountable filesystem') and 4 that do not state the cause "
        "(a Thanos compactor's info lines before its memory kill, a test's failure mark with its time, an sbatch "
        "refusal after its dependency was cancelled, a traceback cut before its error line). "
        "The wordings were added (every other bench log: no answer changed), and the model was retrained with it. "
        "The run also showed the redactor taking rclone's 'HTTP' in 'failed to get token: HTTP error 401' for a "
        "password; a word of letters after a secret's name that follows a failure's words and a verb now stays. "
        f"Today (tuned, in-sample for the model): {b60[1]}/{b60[0]} with the model, {b60[4]}/{b60[0]} with the "
        "rules alone."
    )
    fr61, d61, b61 = BATCH61_FIRST_RUN, BATCH61_DECISIVE_FIRST_RUN, per_batch.get(61, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 61 ({fr61['n']} threads from bench/data/fresh_batch61.yaml, 11 categories with 3 to 6 cases each "
        "and no timeout, killed_external or kafka_consumer case, 54 GitHub repositories, 13 of them also in earlier "
        "data with other threads; no thread in batches 1-60, the training corpus or among those batches 34-60's "
        "collectors looked at) was gathered in the same session with the rest of its search budget while batch 60 "
        "was reviewed and studied: six collectors kept 56 of 1,226 threads, six reviewers dropped 2 and left 3 "
        "unverified that a seventh kept; counts, with closing remarks (the timeout collector found no unused thread "
        "that qualified). It was run once against the rules tuned on batch 60 and the model retrained with it, "
        f"frozen at commit {FREEZE61}. **First run, rules + model: {fr61['right']}/{fr61['n']} "
        f"({fr61['right'] / fr61['n']:.1%}), {fr61['hi_wrong']} wrong at >= 0.8, {fr61['unknown']} unknown**; the "
        f"rules alone in the same run: {fr61['rules_right']}/{fr61['n']} ({fr61['rules_right'] / fr61['n']:.1%}); "
        f"decisive lines {d61['plain']}/{d61['n']} alone, {d61['buried']}/{d61['n']} buried. Freeze 60's code "
        "scores 38/54 too, freeze 20's 36/54, freeze 13's 36/54; the packaged model alone 38/54. Its 16 misses: 2 "
        "notebook tracebacks (IPython's form as Colab prints it) whose exception the extractor had not reached, "
        "taking the first frame for it (one of them also needed TensorFlow's 'ResourceExhaustedError: 2 root "
        "error(s) found' read as memory); 7 logs with wordings no rule had (npm's '404 Not Found - PUT' with the "
        "registry's URL elided; onnxruntime's inputs "
        "'missing from input feed'; PyPI's unverified primary email; Alpha Vantage's per-minute call frequency; "
        "Slurm's 'Job violates accounting/QOS policy'; numpy's 'Wrong number of columns at line N'; Cell Ranger's "
        "GTF record past its contig), 3 whose wording reads as another category (a 403 from jcenter that was its "
        "own outage; Logstash's JSON parse failures on empty keys, a regression; an ingest pipeline's date pattern "
        "missing a timezone form), 2 that do not state the cause (a webpack build that hung at 2 GB of memory, "
        "samtools unable to open its 1,022nd temporary file under the open-file limit), 1 one-off (Logstash's "
        "'Exception: -1') and 1 wording other tools use for other causes (Terraform Cloud's 'could not get current "
        "state: resource not found' for a workspace with no state yet), both left alone. The extractor and "
        "the wordings were changed (every other bench log: no answer changed with the model), and the model was "
        f"retrained with it. Today (tuned, in-sample for the model): {b61[1]}/{b61[0]} with the model, "
        f"{b61[4]}/{b61[0]} with the rules alone."
    )
    fr62, d62, b62 = BATCH62_FIRST_RUN, BATCH62_DECISIVE_FIRST_RUN, per_batch.get(62, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 62 ({fr62['n']} threads from bench/data/fresh_batch62.yaml, 13 categories with 6 to 11 cases each "
        "but killed_external 2 and no kafka_consumer case, 96 GitHub repositories, 26 of them also in earlier data "
        "with other threads, and 3 other pages; no thread in batches 1-61, the training corpus or among those "
        "batches 34-61's collectors looked at) was gathered at the start of a new session with a new search budget: "
        "seven collectors kept 93, then two more, sent with the batch still unread to the four categories short of "
        "8, kept 7, of 2,857 threads in all; nine reviewers relabelled 1 and the merge dropped 1 whose URL this "
        "repository already cited; counts, with closing remarks (no unused kafka_consumer thread qualified, and the "
        "first five upstream_missing cases are one kind of failure, a CI job whose earlier job's artifacts had "
        "expired). It was run once against the rules tuned on batch 61 and the model retrained with it, frozen at "
        f"commit {FREEZE62}. **First run, rules + model: {fr62['right']}/{fr62['n']} "
        f"({fr62['right'] / fr62['n']:.1%}), {fr62['hi_wrong']} wrong at >= 0.8, {fr62['unknown']} unknown**; the "
        f"rules alone in the same run: {fr62['rules_right']}/{fr62['n']} ({fr62['rules_right'] / fr62['n']:.1%}); "
        f"decisive lines {d62['plain']}/{d62['n']} alone, {d62['buried']}/{d62['n']} buried (two platform status "
        "lines with no error word, read by the model, were lost among the noise). Freeze 61's code scores 74/99 "
        "too, freeze 20's 66/99, freeze 13's 57/99; the packaged model alone 76/99. Its 25 misses: 9 logs with "
        "wordings no rule had (the JVM's 'insufficient memory for the Java Runtime Environment', read as a "
        "scheduler's 'insufficient memory'; Windows' low virtual memory report; 'Artifact not found: NAME'; Spark's "
        "deleted _spark_metadata log, read as the code's IllegalStateException; Connector/J's zero date; Embulk's "
        "empty timestamp, read as a parse error of the code's; javac's 'class file has wrong version'; Redshift "
        "Spectrum's incompatible Parquet schema; a BuildKit step whose curl ended in exit code 6), 10 whose "
        "wording reads as another category or that other threads settle otherwise (GitHub Actions' 'The operation "
        "was canceled' at the job's timeout-minutes, twice, 7 bench threads before it a timeout and 7 a kill; "
        "Cloud Tasks' DEADLINE_EXCEEDED at its dispatch deadline; git's 'could not read Username' for a token whose "
        "permissions were cut; an S3 Access Denied for a profile Nextflow never loaded; Terraform's AWS provider "
        "finding no credential sources, a regression; a Parquet table schema that differed from the file's, a bug; "
        "Metaflow finding no completed attempts, a bug; pods evicted for a full root volume; a worker killed at a "
        "wall-clock cap whose message blamed a GPU driver), 2 one-offs left alone (Slurm's configuration file "
        "missing after a template directory was renamed; Guppy's flowcell and kit swapped in a configuration) and 4 "
        "that do not state the cause (a scheduled task's log ending mid-run at its time limit, a cancelled build "
        "job, Prefect's crashed flow run, a replica that found no replication slot after a statement timeout). The "
        "wordings were added, with Terraform's credential wording (its metadata probe's 'context deadline "
        "exceeded' had made it a timeout; the thread's label stays the code's); every other bench log: no answer "
        "changed. The model was retrained with it. Today (tuned, in-sample for the model): "
        f"{b62[1]}/{b62[0]} with the model, {b62[4]}/{b62[0]} with the rules alone."
    )
    fr63, d63, b63 = BATCH63_FIRST_RUN, BATCH63_DECISIVE_FIRST_RUN, per_batch.get(63, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 63 ({fr63['n']} threads from bench/data/fresh_batch63.yaml, 9 categories with 1 to 5 cases each and "
        "no credentials, data_quality, timeout, killed_external or kafka_consumer case, 27 GitHub repositories, 10 "
        "of them also in earlier data with other threads; no thread in batches 1-62, the training corpus or among "
        "those batches 34-62's collectors looked at) was gathered in the same session with the rest of its search "
        "budget while batch 62 was studied: six collectors kept 28 of 726 threads, six reviewers left 3 unverified "
        "that two more kept, and the merge dropped a second case from one repository; counts, with closing remarks "
        "(the credentials, timeout and data_quality collectors found no unused thread that qualified). A small "
        "batch: about +-15 points. It was run once against the rules tuned on batch 62 and the model retrained "
        f"with it, frozen at commit {FREEZE63}. **First run, rules + model: {fr63['right']}/{fr63['n']} "
        f"({fr63['right'] / fr63['n']:.1%}), {fr63['hi_wrong']} wrong at >= 0.8, {fr63['unknown']} unknown**; the "
        f"rules alone in the same run: {fr63['rules_right']}/{fr63['n']} ({fr63['rules_right'] / fr63['n']:.1%}); "
        f"decisive lines {d63['plain']}/{d63['n']} alone, {d63['buried']}/{d63['n']} buried. Freeze 62's code "
        "scores 22/27 too, freeze 20's 20/27, freeze 13's 19/27; the packaged model alone 20/27. Its 5 misses: 1 "
        "wording no rule had (Oracle's 'unable to create INITIAL extent for segment in tablespace SYSTEM'), 3 that "
        "read as another category, each the tool's or the pipeline's own bug (a Kafka ClusterAuthorizationException "
        "fixed by upgrading the plugin, confidently read as permission_denied; an Azure CLI login the Terraform task "
        "stopped passing; an Artifactory 403 on overwriting an artifact after a pipeline change) and 1 that does not "
        "state the cause (a wheel build's exit code 247, cargo out of memory under QEMU). The wording was added with "
        "ORA-01652/1653/1654's 'unable to extend' (every other bench log: no answer changed), and the model was "
        f"retrained with it. Today (tuned, in-sample for the model): {b63[1]}/{b63[0]} with the model, "
        f"{b63[4]}/{b63[0]} with the rules alone."
    )
    fr64, d64, b64 = BATCH64_FIRST_RUN, BATCH64_DECISIVE_FIRST_RUN, per_batch.get(64, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 64 ({fr64['n']} threads from bench/data/fresh_batch64.yaml, all 14 categories with 5 to 10 cases "
        "each, 108 GitHub repositories, 32 of them also in earlier data with other threads, and 1 other page; no "
        "thread in batches 1-63, the training corpus or among those batches 34-63's collectors looked at) was "
        "gathered at the start of a new session with a new search budget: seven collectors, each of the five "
        "categories whose threads earlier batches had nearly used up paired with one that still yields, kept 96, "
        "then two more, sent with the batch still unread to the five categories short of 8, kept 14, of 2,904 "
        "threads in all; nine reviewers dropped 1; counts, with closing remarks (most threads the searches returned "
        "were already used; six of the eight timeout cases are one family of deploy and lint tools). It was run once "
        f"against the rules tuned on batch 63 and the model retrained with it, frozen at commit {FREEZE64}. **First "
        f"run, rules + model: {fr64['right']}/{fr64['n']} ({fr64['right'] / fr64['n']:.1%}), {fr64['hi_wrong']} "
        f"wrong at >= 0.8, {fr64['unknown']} unknown**; the rules alone in the same run: "
        f"{fr64['rules_right']}/{fr64['n']} ({fr64['rules_right'] / fr64['n']:.1%}); decisive lines "
        f"{d64['plain']}/{d64['n']} alone, {d64['buried']}/{d64['n']} buried. Freeze 63's code scores 76/109 too, "
        "freeze 20's 70/109, freeze 13's 63/109; the packaged model alone 81/109. Its 33 misses: 18 logs with "
        "wordings no rule had (Jenkins' 'Cannot resume build because FlowNode ... could not be loaded' and "
        "'FlowNode was not found in storage' after its controller restarted; Bitdefender's 'detected as ... and was "
        "blocked'; MySQL 1419's 'You do not have the SUPER privilege'; SOPS without its age identity, twice, or its "
        "PGP key; R's 'Needs R >= 4.4.0'; a program missing from a bin directory, read as a missing input; Google "
        "Drive's download quota; GitHub's 'was submitted too quickly'; Azure SQL's 'is not currently available. "
        "Please retry the connection later'; Perl's 'Undefined subroutine'; Elasticsearch 8's 'maximum normal "
        "shards open', read as a validation failure of the data; SQL Server's full transaction log; Oracle XE's "
        "size cap; a path a tool names as missing; an importer's date-format check, read as the code's), 9 whose "
        "wording reads as another category (MySQL's 'Access denied ... using password: YES' for a user without the "
        "replication privilege; a KeyError, twice, and an IndexError for a field or element the source's data no "
        "longer had; a login error printed when a page's layout had changed; a corrupt download's 'invalid "
        "BlobHeader size', read by the model as memory; a panic on duplicate IDs and a ValueError on a bad value in "
        "downloaded data, read as the code's; a Kafka consumer's stuck recovery at offset -1001, read as the "
        "code's) and 6 that do not state the cause (a CTest failure, a TypeError building objects from an API that "
        "changed, a segfault on bad labels, a join error after 63 HTTP 429s the log never shows, a backup script "
        "misreading restic's output, a checksum mismatch that was the client's bug). The wordings were added "
        "(every other bench log: no answer changed), and the model was retrained with it. Today (tuned, in-sample "
        f"for the model): {b64[1]}/{b64[0]} with the model, {b64[4]}/{b64[0]} with the rules alone."
    )
    fr65, d65, b65 = BATCH65_FIRST_RUN, BATCH65_DECISIVE_FIRST_RUN, per_batch.get(65, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 65 ({fr65['n']} threads from bench/data/fresh_batch65.yaml, 8 categories with 1 to 5 cases each and "
        "no credentials, data_quality, timeout, killed_external, kafka_consumer or code_bug case, 25 GitHub "
        "repositories, 6 of them also in earlier data with other threads; no thread in batches 1-64, the training "
        "corpus or among those batches 34-64's collectors looked at) was gathered in the same session with the rest "
        "of its search budget while batch 64 was studied: five collectors kept 26 of 785 threads, five reviewers "
        "kept all, and the merge dropped a second case from one repository; counts, with closing remarks (nearly "
        "every thread whose conclusion was visible was already used). A small batch: about +-17 points. It was run "
        f"once against the rules tuned on batch 64 and the model retrained with it, frozen at commit {FREEZE65}. "
        f"**First run, rules + model: {fr65['right']}/{fr65['n']} ({fr65['right'] / fr65['n']:.1%}), "
        f"{fr65['hi_wrong']} wrong at >= 0.8, {fr65['unknown']} unknown**; the rules alone in the same run: "
        f"{fr65['rules_right']}/{fr65['n']} ({fr65['rules_right'] / fr65['n']:.1%}); decisive lines "
        f"{d65['plain']}/{d65['n']} alone, {d65['buried']}/{d65['n']} buried. Freeze 64's code scores 19/25 too, "
        "freeze 20's and freeze 13's 17/25; the packaged model alone 19/25. Its 6 misses: 3 wordings no rule had "
        "(Iceberg's '* a is out of order, before b'; 'This workflow requires Nextflow version 20.X or greater'; "
        "MySQL's 1054 'Unknown column' printed above a traceback under PyMySQL's InternalError, read as the "
        "network) and 3 that do not state the cause (Nextflow's 'Unable to read script' naming the URL of a "
        "reference file that had moved; 'Not a gzipped file' for an annotation the source had removed; sbatch's "
        "'Invalid job array specification' for an array above the cluster's job limit). The wordings were added "
        "(every other bench log: no answer changed), and the model was retrained with it. Today (tuned, in-sample "
        f"for the model): {b65[1]}/{b65[0]} with the model, {b65[4]}/{b65[0]} with the rules alone."
    )
    fr66, d66, b66 = BATCH66_FIRST_RUN, BATCH66_DECISIVE_FIRST_RUN, per_batch.get(66, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 66 ({fr66['n']} threads from bench/data/fresh_batch66.yaml, all 14 categories with 2 to 9 cases "
        "each, 100 GitHub repositories, 26 of them also in earlier data with other threads, and 1 other page; no "
        "thread in batches 1-65, the training corpus or among those batches 34-65's collectors looked at) was "
        "gathered at the start of a new session with a new search budget: seven collectors, each of the five "
        "categories whose threads earlier batches had nearly used up paired with one that still yields, kept 99, "
        "then two more, sent with the batch still unread to the four categories short of 8, kept 5, of 2,994 threads "
        "in all; ten reviewers dropped 2 and relabelled 2, and the merge dropped a second case from one repository; "
        "counts, with closing remarks (kafka_consumer and killed_external threads nearly all used; five of the "
        "first seven schema_mismatch cases one time-series database's field type conflict). It was run once against "
        f"the rules tuned on batch 65 and the model retrained with it, frozen at commit {FREEZE66}. **First run, "
        f"rules + model: {fr66['right']}/{fr66['n']} ({fr66['right'] / fr66['n']:.1%}), {fr66['hi_wrong']} wrong "
        f"at >= 0.8, {fr66['unknown']} unknown**; the rules alone in the same run: {fr66['rules_right']}/{fr66['n']} "
        f"({fr66['rules_right'] / fr66['n']:.1%}); decisive lines {d66['plain']}/{d66['n']} alone, "
        f"{d66['buried']}/{d66['n']} buried. Freeze 65's code scores 71/101 too, freeze 20's 58/101, freeze 13's "
        "53/101; the packaged model alone 75/101. Its 30 misses: 14 logs with wordings no rule had (the JVM unable "
        "to reserve its heap; bash's job report 'Killed' in a Chinese locale; DPI-1047 and 'is not a valid Win32 "
        "application'; Zabbix's 'is not suitable for value type', twice; Jetty's 'Idle timeout expired', read as "
        "the network; cargo giving up on a download after spurious network errors, read as a missing input; NuGet's "
        "403 for an invalid or expired API key, three times, read as a permission; a coordinate past its "
        "chromosome's size; PyTorch's 'received 0 items of ancdata', read as the code's; a force-push to a "
        "protected branch; Kubernetes refusing an object without a required value), 4 whose wording reads as "
        "another category (a Kafka client too new for its broker, read as the consumer group; a panic of a log "
        "shipper fixed by upgrading it, read as the code's; a 403 from Google Cloud Storage that was its transient "
        "error, read as a permission; a file the pipeline's previous step never wrote, read confidently as a missing "
        "input, where the thread's answer was the code's) and 12 that do not state the cause (a cancel with no query "
        "running; an ECS task stopped by a spot termination; a traceback cut above its exception; an event id "
        "missing in metadata; a scrape ending in EOF at a server's own time limit; an index that could not be "
        "loaded, and a BAM bin of size 0, for want of open files and disk; a NaN from columns without variance; "
        "'no lines available in input' after a step ran out of memory; 'No backups found' for a bucket the "
        "account could not read; 'No data found' after an eviction; a Slack channel 'not granted access' under a "
        "rate limit). The wordings were added (every other bench log: only batch 19's NuGet 403, where the key "
        "lacked the package's scope, changed, now read as the key's), and the model was retrained with it. Today "
        f"(tuned, in-sample for the model): {b66[1]}/{b66[0]} with the model, {b66[4]}/{b66[0]} with the rules "
        "alone."
    )
    fr67, d67, b67 = BATCH67_FIRST_RUN, BATCH67_DECISIVE_FIRST_RUN, per_batch.get(67, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 67 ({fr67['n']} threads from bench/data/fresh_batch67.yaml, 11 categories with 1 to 4 cases each and "
        "no schema_mismatch, killed_external or kafka_consumer case, 27 GitHub repositories, 6 of them also in earlier "
        "data with other threads; no thread in batches 1-66, the training corpus or among those batches 34-66's "
        "collectors looked at) was gathered in the same session with the rest of its search budget while batch 66 "
        "was studied: four collectors kept 29 of 475 threads, five reviewers dropped 2; counts, with closing remarks "
        "(most threads the searches returned were already used or showed no conclusion). A small batch: about +-18 "
        f"points. It was run once against the rules tuned on batch 66 and the model retrained with it, frozen at "
        f"commit {FREEZE67}. **First run, rules + model: {fr67['right']}/{fr67['n']} "
        f"({fr67['right'] / fr67['n']:.1%}), {fr67['hi_wrong']} wrong at >= 0.8, {fr67['unknown']} unknown**; the "
        f"rules alone in the same run: {fr67['rules_right']}/{fr67['n']} ({fr67['rules_right'] / fr67['n']:.1%}); "
        f"decisive lines {d67['plain']}/{d67['n']} alone, {d67['buried']}/{d67['n']} buried. Freeze 66's and freeze "
        "20's code score 17/27 too, freeze 13's 13/27; the packaged model alone 18/27. Its 10 misses: 6 wordings no "
        "rule had (setuptools-scm 8 refusing an old setuptools; Jenkins waiting out GitHub's API quota; Kubernetes "
        "refusing 'system:anonymous', read as a permission; containerd's 'no available registry endpoint: x not "
        "found' for an image tag never published, read as the network; zypper's 'is temporarily unaccessible'; "
        "curl's low-speed limit, read by the model as a time limit), 2 whose wording reads as another category (a "
        "registry's i/o timeout under Docker Hub's pull limit; a RuntimeError on a degenerate geometry in the source "
        "data, read as the code's) and 2 that do not state the cause ('Failed to establish pod watch: unknown (get "
        "pods)' for a service account without a role; 'The operation was canceled.' at a job's time limit). The "
        "wordings were added (every other bench log: no answer changed), and the model was retrained with it. Today "
        f"(tuned, in-sample for the model): {b67[1]}/{b67[0]} with the model, {b67[4]}/{b67[0]} with the rules "
        "alone."
    )
    fr68, d68, b68 = BATCH68_FIRST_RUN, BATCH68_DECISIVE_FIRST_RUN, per_batch.get(68, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 68 ({fr68['n']} threads from bench/data/fresh_batch68.yaml, 12 categories with 7 or 8 cases each and "
        "no kafka_consumer or killed_external case, 94 GitHub repositories, 21 of them also in earlier data with other "
        "threads; no thread in batches 1-67, the training corpus or among those batches 34-67's collectors looked "
        "at) was gathered at the start of a new session with a new search budget: six collectors, two categories "
        "each, kept 96 of 1,854 threads; six reviewers dropped 1 and the merge 1 page already used; counts, with "
        "closing remarks (most threads the searches returned were already used; 35 logs are a single line). It was "
        f"run once against the rules tuned on batch 67 and the model retrained with it, frozen at commit {FREEZE68}. "
        f"**First run, rules + model: {fr68['right']}/{fr68['n']} ({fr68['right'] / fr68['n']:.1%}), "
        f"{fr68['hi_wrong']} wrong at >= 0.8, {fr68['unknown']} unknown**; the rules alone in the same run: "
        f"{fr68['rules_right']}/{fr68['n']} ({fr68['rules_right'] / fr68['n']:.1%}); decisive lines "
        f"{d68['plain']}/{d68['n']} alone, {d68['buried']}/{d68['n']} buried. Freeze 67's code scores 63/94, freeze "
        "20's 57/94, freeze 13's 50/94; the packaged model alone 67/94. Its 28 misses: 13 logs with wordings no rule "
        "had (PostgreSQL's backend killed by signal 9, read by the model as a kill from outside; Superset's query "
        "time limit; GnuPG with no secret key, twice; an AWS SDK timing out on the instance metadata endpoint for "
        "want of configured credentials, read confidently as a kill through asyncio's CancelledError; an action.yml "
        "key GitHub Actions does not know, read as bad data; a local action without an action.yml; Packer finding no "
        "AMI; marshmallow's 'Not a valid integer.'; Google's generic 429 message, read as capacity; Sentry's "
        "per-second limit; Node's bare EACCES; Android's INSTALL_FAILED_INSUFFICIENT_STORAGE), 9 whose wording "
        "reads as another category (a NumberFormatException on an 'n/a' value, read as the code's; npm install past "
        "Travis's 10-minute limit during an npm incident; an action's bug reported as 'Release asset not found', and "
        "an install script's as 'Failed to download release asset'; GitHub Actions' 'Unable to resolve action' "
        "three times, for a tag deleted upstream, a repository renamed and a ref that never existed, read as a "
        "dependency as batch 57's was labelled; a table missing because a release's migration was not applied, "
        "read as a missing input; curl's 'Failed writing body' on a full home directory, read by the model as the "
        "network) and 6 that do not state the cause (webpack's bare 'Compilation failed:' out of memory, twice; "
        "pandas' 'boolean value of NA is ambiguous' from a record without a year; an XML parse error while a source "
        "was down; 'ERROR: request failed' from a cloud's transient error; an IndexError on broken geometry in "
        "source data). The wordings were added (every other bench log: no answer changed), and the model was "
        f"retrained with it. Today (tuned, in-sample for the model): {b68[1]}/{b68[0]} with the model, "
        f"{b68[4]}/{b68[0]} with the rules alone."
    )
    fr69, d69, b69 = BATCH69_FIRST_RUN, BATCH69_DECISIVE_FIRST_RUN, per_batch.get(69, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 69 ({fr69['n']} threads from bench/data/fresh_batch69.yaml, 12 categories with 1 to 5 cases each and "
        "no kafka_consumer or killed_external case, 43 GitHub repositories, 19 of them also in earlier data with other "
        "threads; no thread in batches 1-68, the training corpus or among those batches 34-68's collectors looked "
        "at) was gathered in the same session with the rest of its search budget while batch 68 was still unread: "
        "six collectors kept 46 of 1,355 threads, six reviewers and a second look dropped 2 and relabelled 1, the "
        "merge dropped a second case from one repository; counts, with closing remarks (most threads the searches "
        "returned were already used). A small batch: about +-14 points. It was run once against the rules tuned on "
        f"batch 68 and the model retrained with it, frozen at commit {FREEZE69}. **First run, rules + model: "
        f"{fr69['right']}/{fr69['n']} ({fr69['right'] / fr69['n']:.1%}), {fr69['hi_wrong']} wrong at >= 0.8, "
        f"{fr69['unknown']} unknown**; the rules alone in the same run: {fr69['rules_right']}/{fr69['n']} "
        f"({fr69['rules_right'] / fr69['n']:.1%}); decisive lines {d69['plain']}/{d69['n']} alone, "
        f"{d69['buried']}/{d69['n']} buried (the one line missed alone, a DEBUG record of a 404, had no error word; "
        "the one more buried, a sentence above a dump of a file's 94 column names). Freeze 68's code scores 31/43 "
        "too, freeze 20's 27/43, freeze 13's 26/43; the packaged model alone 29/43. Its 12 misses: 5 logs with "
        "wordings no rule had (GNU msgfmt refusing a translation's format specifications or line ends, three times; "
        "bash's 'Permission denied' in a Chinese locale; urllib3's DEBUG record of a 404 for the file the job "
        "fetched), 4 whose wording reads as another category (wget's 502 for a file its server no longer served, "
        "and a Vault bug that ran a host name into its path, 'no such host', both read as the network; curl's 403 "
        "from GitHub's API for anonymous calls past the per-address hourly limit, twice, read as a permission), 1 "
        "application's own sentence for a file with more columns than it knew, left to it, and 2 that do not state "
        "the cause (a fitting program's FATAL on one camera's bad exposure; 'Cannot set property 'id'' for a file "
        "without its header row). The wordings were added (every other bench log: no answer changed), and the model "
        "was retrained with it at the start of the next session (a retraining takes about 45 minutes on this "
        f"machine). Today (tuned, in-sample for the model): {b69[1]}/{b69[0]} with the model, {b69[4]}/{b69[0]} "
        "with the rules alone."
    )
    fr70, d70, b70 = BATCH70_FIRST_RUN, BATCH70_DECISIVE_FIRST_RUN, per_batch.get(70, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 70 ({fr70['n']} threads from bench/data/fresh_batch70.yaml, 12 categories with 3 to 9 cases each and "
        "no kafka_consumer or killed_external case, 81 GitHub repositories, 20 of them also in earlier data with other "
        "threads, and 2 other pages; no thread in batches 1-69, the training corpus or among those batches 34-69's "
        "collectors looked at) was gathered at the start of a new session with a new search budget while the model "
        "was being retrained on batch 69: six collectors, two categories each, kept 85 of 1,500 threads; six "
        "reviewers dropped 1 and relabelled 1, the merge dropped a second case from one repository; counts, with "
        "closing remarks (most threads the searches returned were already used; 28 logs are a single line). It was "
        f"run once against the rules tuned on batch 69 and the model retrained with it, frozen at commit {FREEZE70}. "
        f"**First run, rules + model: {fr70['right']}/{fr70['n']} ({fr70['right'] / fr70['n']:.1%}), "
        f"{fr70['hi_wrong']} wrong at >= 0.8, {fr70['unknown']} unknown**; the rules alone in the same run: "
        f"{fr70['rules_right']}/{fr70['n']} ({fr70['rules_right'] / fr70['n']:.1%}); decisive lines "
        f"{d70['plain']}/{d70['n']} alone, {d70['buried']}/{d70['n']} buried. Freeze 69's code scores 69/83, freeze "
        "20's 62/83, freeze 13's 59/83; the packaged model alone 69/83. Its 15 misses: 5 logs with wordings no rule "
        "had (bash's 'Killed' in a German locale, 'Getötet'; a self-updater's 'No asset found for target' for a "
        "release without its binaries; Google's older quota-group wording, per user per 100 seconds, read as "
        "capacity; crates.io's 'you don't seem to be an owner'; R's 'C++17 standard requested but CXX17 is not "
        "defined', read as the code's 'is not defined'), 5 whose wording reads as another category or none (GitHub's "
        "'Artifact not found' from a step fetching logs a platform never produces, read as a missing input; curl's "
        "403 from GitHub's API past the per-address hourly limit, read as a permission; Read the Docs' 'Command "
        "killed due to excessive memory consumption' where the project's build time limit was the cause, read as "
        "memory; conda's 'unrecognized arguments: --mkdir' from a Nextflow older than the conda it called; Julia's "
        "'curl_multi_socket_action: 8' from a bug in its download library, read by the model as the network) and 5 "
        "that do not state the cause (a NullPointerException in a BigQuery sink's converter on schemaless records; "
        "Spark's 'Job aborted.' from two Avro versions on one classpath; containerd's 'mount callback failed' on a "
        "full runner disk; c3p0's 'Connections could not be acquired' when PostgreSQL had no connection slot left; a "
        "download's IOException cut mid-line before its reason). The wordings were added (every other bench log: "
        f"no answer changed), and the model was retrained with it. Today (tuned, in-sample for the model): "
        f"{b70[1]}/{b70[0]} with the model, {b70[4]}/{b70[0]} with the rules alone."
    )
    fr71, d71, b71 = BATCH71_FIRST_RUN, BATCH71_DECISIVE_FIRST_RUN, per_batch.get(71, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 71 ({fr71['n']} threads from bench/data/fresh_batch71.yaml, 12 categories with 1 to 5 cases each and "
        "no kafka_consumer or killed_external case, 39 GitHub repositories, 7 of them also in earlier data with other "
        "threads, and 2 other pages; no thread in batches 1-70, the training corpus or among those batches 34-70's "
        "collectors looked at) was gathered in the same session with the rest of its search budget while batch 70 "
        "was still unread: six collectors kept 42 of 862 threads, six reviewers and a second look at three left "
        "unverified dropped the one still unverified; counts, with closing remarks (most threads the searches "
        "returned were already used; 16 logs are a single line). A small batch: about +-13 points. It was run once "
        f"against the rules tuned on batch 70 and the model retrained with it, frozen at commit {FREEZE71}. **First "
        f"run, rules + model: {fr71['right']}/{fr71['n']} ({fr71['right'] / fr71['n']:.1%}), {fr71['hi_wrong']} "
        f"wrong at >= 0.8, {fr71['unknown']} unknown**; the rules alone in the same run: "
        f"{fr71['rules_right']}/{fr71['n']} ({fr71['rules_right'] / fr71['n']:.1%}); decisive lines "
        f"{d71['plain']}/{d71['n']} alone, {d71['buried']}/{d71['n']} buried. Freeze 70's code scores 32/41 too, "
        "freeze 20's 27/41, freeze 13's 29/41; the packaged model alone 30/41. Its 9 misses: 3 logs with wordings no "
        "rule had (Read the Docs' 'Command killed due to excessive memory consumption', which lost to conda's nag "
        "about pip read as a dependency, the same message the model had read right on two other logs of the batch; "
        "Neo4j's MERGE on a null key value, read by the model as the code's; Ansible's 'Attempting to decrypt but no "
        "vault secrets found'), 4 whose wording reads as another category (PostgreSQL's 'relation does not exist' for "
        "a table a newer release's migration had dropped under workers not yet upgraded, read as a missing input; "
        "Gradle's 'Could not find xercesImpl.jar' while the repository's network was disrupted, read by the model as "
        "a dependency; a PermissionError writing '/.nf-core.yml' from a fix accidentally reverted, read confidently "
        "as a permission, the batch's one confident wrong answer; an action's 'File not found: .../index.js' for a "
        "tag released without its built file, read as a missing input) and 2 that do not state the cause (a "
        "NullPointerException in a batch importer on rows with an empty relation type; ODBC's 'Error connecting to "
        "the database' from an image without the MariaDB client library, read by the model as the network). The "
        "wordings were added (every other bench log: one rules' answer changed, batch 70's Read the Docs log, "
        "labelled timeout, from killed_external to oom, as the model had read it), and the model was retrained with "
        f"it. Today (tuned, in-sample for the model): {b71[1]}/{b71[0]} with the model, {b71[4]}/{b71[0]} with the "
        "rules alone."
    )
    fr72, d72, b72 = BATCH72_FIRST_RUN, BATCH72_DECISIVE_FIRST_RUN, per_batch.get(72, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 72 ({fr72['n']} threads from bench/data/fresh_batch72.yaml, 4 categories with 4 cases each, 16 GitHub "
        "repositories, 3 of them also in earlier data with other threads; no thread in batches 1-71, the training "
        "corpus or among those batches 34-71's collectors looked at) was gathered in the same session with the last "
        "of its search budget while the model was being retrained on batch 71: two collectors, given the two pairs "
        "of categories that had yielded most for batch 71, kept 16 of 389 threads, two reviewers kept all; counts, "
        "with closing remarks. A small batch: about +-22 points. It was run once against the rules tuned on batch 71 "
        f"and the model retrained with it, frozen at commit {FREEZE72}. **First run, rules + model: "
        f"{fr72['right']}/{fr72['n']} ({fr72['right'] / fr72['n']:.1%}), {fr72['hi_wrong']} wrong at >= 0.8, "
        f"{fr72['unknown']} unknown**; the rules alone in the same run: {fr72['rules_right']}/{fr72['n']} "
        f"({fr72['rules_right'] / fr72['n']:.1%}); decisive lines {d72['plain']}/{d72['n']} alone, "
        f"{d72['buried']}/{d72['n']} buried. Freeze 71's code scores 11/16, freeze 20's 9/16, freeze 13's 8/16; the "
        "packaged model alone 14/16. Its 4 misses: OpenSSL's 'iv undefined' from a decryption whose secret variables "
        "were empty where the job ran, Kafka Connect finding no plugin class of the name it was given, pip's "
        "'Preparing metadata (pyproject.toml) did not run successfully' in a log cut before its closing words, and "
        "curl's bare 403, read as a permission, from an anonymous call to GitHub's API past its hourly per-address "
        "limit, the fourth such log since batch 69 and the fourth labelled throttled. The wordings were added, the "
        "last as a guess below 0.8 that git's 403 does not take (every other bench log: the rules' answer changed on "
        "the three earlier curl 403s only, now right); the model was retrained with it at the start of the next "
        f"session, so its figure today is in-sample: {b72[1]}/{b72[0]} with the model, {b72[4]}/{b72[0]} with the "
        "rules alone."
    )
    fr73, d73, b73 = BATCH73_FIRST_RUN, BATCH73_DECISIVE_FIRST_RUN, per_batch.get(73, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 73 ({fr73['n']} threads from bench/data/fresh_batch73.yaml, 12 categories with 6 to 8 cases each and "
        "no kafka_consumer or killed_external case, 85 GitHub repositories, 18 of them also in earlier data with other "
        "threads, and 1 other page; no thread in batches 1-72, the training corpus or among those batches 34-72's "
        "collectors looked at) was gathered at the start of a new session with a new search budget while the model "
        "was being retrained on batch 72: six collectors, two categories each, kept 89, and a seventh, for "
        "kafka_consumer and killed_external, none (nearly every thread the searches returned was already used), of "
        "2,079 threads; six reviewers dropped 2 and left 1 unverified, which a second look kept, the merge dropped a "
        "second case from one repository; counts, with closing remarks (27 logs are a single line). It was run once "
        f"against the rules tuned on batch 72 and the model retrained with it, frozen at commit {FREEZE73}. **First "
        f"run, rules + model: {fr73['right']}/{fr73['n']} ({fr73['right'] / fr73['n']:.1%}), {fr73['hi_wrong']} "
        f"wrong at >= 0.8, {fr73['unknown']} unknown**; the rules alone in the same run: "
        f"{fr73['rules_right']}/{fr73['n']} ({fr73['rules_right'] / fr73['n']:.1%}); decisive lines "
        f"{d73['plain']}/{d73['n']} alone, {d73['buried']}/{d73['n']} buried (the one missed is a JSON line the "
        "excerpt shows rendered). Freeze 72's code scores 67/86, freeze 20's 58/86, freeze 13's 58/86; the packaged "
        "model alone 57/86. Its 20 misses: 12 logs whose wording states the cause but no rule had it (Azure Artifacts' "
        "'Unable to authenticate, need: Bearer' for an expired token; runc unable to exec a program the image lacks, "
        "read as a missing input; the ODBC driver manager's 'no default driver specified' without the driver "
        "installed; Greenplum's 'insufficient memory reserved for statement', read as capacity; GitHub's GH013 "
        "repository rule violations; a poll and an action past their fixed seconds; a fetch's 'Reason: 404 - Not "
        "Found'; MySQL's duplicate entry '2147483647', an id space used up, read confidently as bad data; Sqoop's "
        "'Can't parse input data'; makeblastdb's duplicate seq_ids; and a GH006 protected-branch refusal whose "
        "execa result object, 'timedOut: false' and 'killed: false', the rules had read as a time limit and a kill, "
        "so that the model called it credentials) and 8 that do not state the cause (git's exit code 128 where a "
        "wrongly named secret left the deploy without a token; a parse error from a loose pin to a breaking "
        "release; a 403 from a storage service after a server-side change its backend had to follow; a systemd "
        "timer never activated; Flux's 'kustomization.yaml is empty' from a regression; a chart's read-only /tmp; "
        "Terraform's AccessDeniedException from a stack wrongly put in the CI matrix, read confidently as a "
        "permission; a CMS's generic backup error past PHP's max_execution_time). The wordings were added, the "
        "execa fields no longer read as a time limit or a kill (every other bench log: no answer changed), and the "
        f"model was retrained with it. Today (tuned, in-sample for the model): {b73[1]}/{b73[0]} with the model, "
        f"{b73[4]}/{b73[0]} with the rules alone."
    )
    fr74, d74, b74 = BATCH74_FIRST_RUN, BATCH74_DECISIVE_FIRST_RUN, per_batch.get(74, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 74 ({fr74['n']} threads from bench/data/fresh_batch74.yaml, 11 categories with 1 to 4 cases each and "
        "no data_quality, kafka_consumer or killed_external case, 26 GitHub repositories, 9 of them also in earlier "
        "data with other threads, and 1 other page; no thread in batches 1-73, the training corpus or among those "
        "batches 34-73's collectors looked at) was gathered in the same session with the rest of its search budget "
        "while batch 73 was still unread: six collectors kept 27 of 676 threads, six reviewers kept all; counts, with "
        "closing remarks (9 logs are a single line). A small batch: about +-17 points. It was run once against the "
        f"rules tuned on batch 73 and the model as trained on batch 72, frozen at commit {FREEZE74}. **First run, "
        f"rules + model: {fr74['right']}/{fr74['n']} ({fr74['right'] / fr74['n']:.1%}), {fr74['hi_wrong']} wrong at "
        f">= 0.8, {fr74['unknown']} unknown**; the rules alone in the same run: {fr74['rules_right']}/{fr74['n']} "
        f"({fr74['rules_right'] / fr74['n']:.1%}); decisive lines {d74['plain']}/{d74['n']} alone, "
        f"{d74['buried']}/{d74['n']} buried. Freeze 73's code scores 20/27 too, freeze 20's 17/27, freeze 13's 15/27; "
        "the packaged model alone 19/27. Its 7 misses: 2 wordings no rule had (cuDF's 'All sources must have the "
        "same schema' for Parquet files whose schemas differ; PostgreSQL's 'cached plan must not change result "
        "type' for a table a migration changed under a worker's prepared plans) and 5 that do not state the cause "
        "(R's 'number of columns of matrices must match' from packages built for another R, read as a schema; a "
        "staged script's mode, read as a permission; a workflow's own bug behind a process's exit status 1; a "
        "migration's ownership grant, 'must be member of role'; a deleted data bundle downloaded as a bad zip). The "
        "wordings were added (every other bench log: no answer changed), and the model was retrained with it. Today "
        f"(tuned, in-sample for the model): {b74[1]}/{b74[0]} with the model, {b74[4]}/{b74[0]} with the rules alone."
    )
    fr75, d75, b75 = BATCH75_FIRST_RUN, BATCH75_DECISIVE_FIRST_RUN, per_batch.get(75, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 75 ({fr75['n']} threads from bench/data/fresh_batch75.yaml, 6 categories with 1 or 2 cases each, 8 "
        "GitHub repositories, none of them in earlier data, and 1 other page; no thread in batches 1-74, the training "
        "corpus or among those batches 34-74's collectors looked at) was gathered in the same session with the last of "
        "its search budget while the model was being retrained on batches 73 and 74: four collectors, three "
        "categories each, kept 9 of 321 threads (the collector of oom, schema_mismatch and upstream_missing none), "
        "three reviewers kept all; counts, with closing remarks. A very small batch: about +-27 points. It was run "
        "once against the rules tuned on batch 74 and the model retrained with batches 73 and 74, frozen at commit "
        f"{FREEZE75}. **First run, rules + model: {fr75['right']}/{fr75['n']} ({fr75['right'] / fr75['n']:.1%}), "
        f"{fr75['hi_wrong']} wrong at >= 0.8, {fr75['unknown']} unknown**; the rules alone in the same run: "
        f"{fr75['rules_right']}/{fr75['n']} ({fr75['rules_right'] / fr75['n']:.1%}); decisive lines "
        f"{d75['plain']}/{d75['n']} alone, {d75['buried']}/{d75['n']} buried. Freeze 74's code scores 7/9 too, "
        "freeze 20's 6/9, freeze 13's 7/9; the packaged model alone 7/9. Its 2 misses add no wording: Slurm refusing "
        "a job whose requested time exceeds the partition's limit, labelled code_bug for the script's value and "
        "read by the model as capacity (earlier sbatch refusals over a limit are labelled resource_exhausted, so no "
        "rule was written for it), and kubelet's 'Back-off pulling image' where Docker Hub's pull limit was the "
        "cause, which the log does not state. No wording was added after it; the model was retrained with it in the "
        f"next session, with batch 76. Today (in-sample for the model): {b75[1]}/{b75[0]} with the model, "
        f"{b75[4]}/{b75[0]} with the rules alone."
    )
    fr76, d76, b76 = BATCH76_FIRST_RUN, BATCH76_DECISIVE_FIRST_RUN, per_batch.get(76, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 76 ({fr76['n']} threads from bench/data/fresh_batch76.yaml, 12 categories with 9-11 cases each, "
        "kafka_consumer and killed_external left out, 117 GitHub repositories, 34 of them also in earlier data with "
        "other threads; no thread in batches 1-75, the training corpus or among those batches 34-75's collectors "
        "looked at) was gathered at the start of the next session with a new search budget: six collectors kept 120 "
        "of 2,157 threads, six reviewers relabelled 1 and dropped 2, the merge dropped a second case from one "
        "repository; counts, with closing remarks (48 logs are a single line; about twenty labels rest on a thinner "
        "conclusion or were called close to a second category). It was run once against the rules tuned on batch "
        "74, the model retrained with batches 73 and 74, and a model answer without an error block shown beside the "
        f"log's last words, frozen at commit {FREEZE76}. **First run, rules + model: {fr76['right']}/{fr76['n']} "
        f"({fr76['right'] / fr76['n']:.1%}), {fr76['hi_wrong']} wrong at >= 0.8, {fr76['unknown']} unknown**; the "
        f"rules alone in the same run: {fr76['rules_right']}/{fr76['n']} ({fr76['rules_right'] / fr76['n']:.1%}); "
        f"decisive lines {d76['plain']}/{d76['n']} alone, {d76['buried']}/{d76['n']} buried. Freeze 75's code scores "
        "85/117 too, freeze 20's 73/117, freeze 13's 75/117; the packaged model alone 88/117. Its 32 misses: 9 "
        "wordings no rule had (Kubernetes refusing a pod over its namespace's ResourceQuota; EC2's "
        "RequestLimitExceeded, a rate the capacity rule also took; ssh's knownhosts key mismatch after a host key "
        "rotated; fastlane's expired signing certificate; a Singer target's record that did not conform to its "
        "schema; Slurm unable to contact its controller; an HDF5 header/library mismatch; libtiff and GDAL reading a "
        "damaged TIFF; libmseed decoding fewer samples than a record promises, where the model still answers "
        "code_bug), 11 code_bug labels for a bug behind what the log shows (a 401 or 403 from a plugin's typo or "
        "null credential id, a 404 for a release the code named wrongly, a glob the upload script mishandled), and "
        "12 more the log states differently or not at all (a job cancelled at its time-out that prints only a "
        "cancellation; a pre-commit check killed at its per-check limit printed as FAILED; a server removing a "
        "directory seen only as a failed assertion; a registry outage read as 'Repo not found'; a changed JSON "
        "response seen only as stack frames; a traceback cut before its error; bad values in genomics, "
        "spectrograph, raster, EDF and CSV files worded by each tool alone; xarray's undecodable time units, "
        "whose hint names a missing package). The wordings were added "
        "(every other bench log: 3 answers changed, each to its label), and the model was retrained with it. Today "
        f"(tuned, in-sample for the model): {b76[1]}/{b76[0]} with the model, {b76[4]}/{b76[0]} with the rules "
        "alone."
    )
    fr77, d77, b77 = BATCH77_FIRST_RUN, BATCH77_DECISIVE_FIRST_RUN, per_batch.get(77, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 77 ({fr77['n']} threads from bench/data/fresh_batch77.yaml, 12 categories with 1-4 cases each, 30 "
        "GitHub repositories, 9 of them also in earlier data with other threads, and 1 other page; no thread in "
        "batches 1-76, the training corpus or among those batches 34-76's collectors looked at) was gathered in the "
        "same session with the rest of its search budget while batch 76 was studied and the model retrained: six "
        "collectors kept 35 of 976 threads (nearly every thread the searches returned was already used), six "
        "reviewers and a second look left 2 unverified, both dropped, and the merge dropped 2 whose threads were "
        "already used; counts, with closing remarks (11 logs are a single line). A small batch: about +-17 points. It "
        "was run once against the rules tuned on batch 76 and the model retrained with batches 75 and 76, frozen at "
        f"commit {FREEZE77}. **First run, rules + model: {fr77['right']}/{fr77['n']} "
        f"({fr77['right'] / fr77['n']:.1%}), {fr77['hi_wrong']} wrong at >= 0.8, {fr77['unknown']} unknown**; the "
        f"rules alone in the same run: {fr77['rules_right']}/{fr77['n']} ({fr77['rules_right'] / fr77['n']:.1%}); "
        f"decisive lines {d77['plain']}/{d77['n']} alone, {d77['buried']}/{d77['n']} buried. Freeze 76's code scores "
        "19/31 too, freeze 20's 16/31, freeze 13's 16/31; the packaged model alone 19/31. Its 12 misses: 4 wordings "
        "no rule had (Npgsql's command timeout, 'Timeout during reading attempt'; GitHub refusing a push that changes "
        "a workflow, '`workflows` scope may be required'; Concourse unable to find a resource's credential in its "
        "credential manager; GEOS unable to assign a hole to a shell, invalid geometry) and 8 that do not state the "
        "cause (a job cancelled at its own timeout-minutes; four code_bug labels behind an access refusal, a missing "
        "tag, a missing file and a recursion in a cache; two export formats changed under an importer, seen as a "
        "TypeError and as a file missing from an archive; bad values behind 'Task Failed'). The wordings were"
        " added (every other bench log: no answer changed); the "
        "model was retrained with it only at the start of the next session (a retraining took 35 minutes on this "
        "machine, and the session had run one). Today: "
        f"{b77[1]}/{b77[0]} with the model, {b77[4]}/{b77[0]} with the rules alone."
    )
    fr78, d78, b78 = BATCH78_FIRST_RUN, BATCH78_DECISIVE_FIRST_RUN, per_batch.get(78, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 78 ({fr78['n']} threads from bench/data/fresh_batch78.yaml, 12 categories with 6-9 cases each, 90 "
        "GitHub repositories, 49 of them also in earlier data with other threads, and 2 other pages; no thread in "
        "batches 1-77, the training corpus or among those batches 34-77's collectors looked at) was gathered at the "
        "start of the next session with a new search budget: six collectors (110 look-ups each) kept 94 of 1,456 "
        "threads, six reviewers relabelled 1 and left 1 unverified (dropped), and the merge dropped a second case from "
        "one repository; counts, with closing remarks (46 logs are a single line, copied by hand from search "
        "excerpts). It was run once against the rules tuned on batch 77 and the model retrained with it, frozen at "
        f"commit {FREEZE78}. **First run, rules + model: {fr78['right']}/{fr78['n']} "
        f"({fr78['right'] / fr78['n']:.1%}), {fr78['hi_wrong']} wrong at >= 0.8, {fr78['unknown']} unknown**; the "
        f"rules alone in the same run: {fr78['rules_right']}/{fr78['n']} ({fr78['rules_right'] / fr78['n']:.1%}); "
        f"decisive lines {d78['plain']}/{d78['n']} alone, {d78['buried']}/{d78['n']} buried. Freeze 77's code scores "
        "58/92 too, freeze 20's 56/92, freeze 13's 49/92; the packaged model alone 62/92. Its 34 misses: 12 wordings "
        "no rule had or rules that disagreed (Azure Pipelines' own job time limit, whose 'The operation was "
        "canceled.' read as a kill; ESMValTool's 'Missing data for preprocessor'; 'was not found: Too many open "
        "files', read as a missing input too; the Graph API's 'Page request limited reached'; an MQTT broker "
        "refusing a login, read as the network; burp's 'unable to authorise on server'; protobuf's 'bad wiretype'; "
        "Debian's 'depends on missing:'; a malformed listing entry; Nextflow's duplicate join emission; zipline's "
        "missing daily bars; PostgreSQL's 'value out of range: underflow'), 1 the rules named and the model overruled "
        "(a Zabbix frontend against a newer database, schema_mismatch here and dependency in batch 57's label of the "
        "same line, so left alone) and 21 that do not state the cause (7 code_bug labels behind a signature refused, "
        "a login refused, a username prompt or a sync error; 5 logs that stop or fail without saying why, out of "
        "memory, time or disk quota per the thread; 9 whose log shows a symptom only: an upstream stack or dataset "
        "not produced, a service's generic error, an older runtime or server, an empty or incomplete input). The "
        "wordings were added (every other bench log: one answer changed, away from its label: batch "
        "60's ESMValTool case, labelled code_bug though its note says the datasets were missing). Today: "
        f"{b78[1]}/{b78[0]} with the model, {b78[4]}/{b78[0]} with the rules alone."
    )
    fr79, d79, b79 = BATCH79_FIRST_RUN, BATCH79_DECISIVE_FIRST_RUN, per_batch.get(79, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 79 ({fr79['n']} threads from bench/data/fresh_batch79.yaml, 10 categories with 1-3 cases each, 25 "
        "GitHub repositories, 13 of them also in earlier data with other threads, and 1 other page; no thread in "
        "batches 1-78 or among those their collectors looked at) was gathered in the same session with the rest of "
        "its search budget, before batch 78 was read: six collectors (38 look-ups each) kept 27 of 641 threads (none "
        "for timeout or data_quality: nearly every thread returned was already used), reviewers left 1 unverified "
        "(dropped). A small batch: about +-18 points. It was run once against batch 78's wordings and the same model, "
        f"frozen at commit {FREEZE79}. **First run, rules + model: {fr79['right']}/{fr79['n']} "
        f"({fr79['right'] / fr79['n']:.1%}), {fr79['hi_wrong']} wrong at >= 0.8, {fr79['unknown']} unknown**; the "
        f"rules alone in the same run: {fr79['rules_right']}/{fr79['n']} ({fr79['rules_right'] / fr79['n']:.1%}); "
        f"decisive lines {d79['plain']}/{d79['n']} alone, {d79['buried']}/{d79['n']} buried. Freeze 78's code scores "
        "20/26 too, freeze 20's 14/26, freeze 13's 15/26; the packaged model alone 22/26. Its 6 misses: 3 wordings "
        "(GitHub's CLI with no asset on a release yet; SSIS unable to decrypt a package's stored password; Modal's "
        "'No secret named X', the confident wrong answer, upstream_missing through its NotFoundError) and 3 that do "
        "not state the cause (GitHub's 404 for a token without access; two code_bug labels). The wordings were added "
        "(every other bench log: no answer changed); the next session retrained the model with batches 78 and 79 (C=10 "
        "again, the same thresholds) before gathering batch 80. Today: "
        f"{b79[1]}/{b79[0]} with the model, {b79[4]}/{b79[0]} with the rules alone."
    )
    fr80, d80, b80 = BATCH80_FIRST_RUN, BATCH80_DECISIVE_FIRST_RUN, per_batch.get(80, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 80 ({fr80['n']} threads from bench/data/fresh_batch80.yaml, 12 categories with 7-8 cases each, 94 "
        "GitHub repositories, 34 of them also in earlier data with other threads, and 1 other page; no thread in "
        "batches 1-79 or among those batches 34-79's collectors looked at) was gathered at the start of the next "
        "session with a new search budget while the model was retrained with batches 78 and 79: six collectors (120 "
        "look-ups each, their brief now saying that common queries return used threads) kept 95 of 1,517 threads, "
        "and six reviewers kept all 95. It was run once against batch 79's wordings and the retrained model, frozen "
        f"at commit {FREEZE80}. **First run, rules + model: {fr80['right']}/{fr80['n']} "
        f"({fr80['right'] / fr80['n']:.1%}), {fr80['hi_wrong']} wrong at >= 0.8, {fr80['unknown']} unknown**; the "
        f"rules alone in the same run: {fr80['rules_right']}/{fr80['n']} ({fr80['rules_right'] / fr80['n']:.1%}); "
        f"decisive lines {d80['plain']}/{d80['n']} alone, {d80['buried']}/{d80['n']} buried. Freeze 79's code (the "
        "model before its retraining) scores 63/95, freeze 20's 49/95, freeze 13's 49/95; the packaged model alone "
        "68/95. Its 33 misses: 17 wordings no rule had or rules that misread them (Velero's wait for backups to "
        "complete, read as a missing input; a game server watchdog's tick limit; Bazel's evicted remote blobs, which "
        "'library' in go_default_library vetoed; 'missing the following scenes'; a list not published for a date, "
        "still code_bug through its AttributeError; Slurm's invalid account; .NET's 'Access to the path is denied'; "
        "Binance's request weight; Telegram's FLOOD_PREMIUM_WAIT; borg's incorrect passphrase; SBCL's exhausted "
        "control stack; pytest's bare 'E   NotImplementedError'; Arrow's 'No match for FieldRef.Name'; a Go "
        "collector's line number 'collector.go:403' read as a 403; rclone's pacer line after a retry read as a rate "
        "limit; two truncated BAM files, one read as a missing input) and 16 that do not state the cause (two "
        "request timeouts, one labelled timeout and one transient_network, and a curl timeout labelled "
        "transient_network; a download error and a replica too far behind for missing inputs; a passphrase file not "
        "found; two code_bug labels behind a missing file and a null field; a service's generic error; four R errors "
        "behind a changed web service or site; a failed migration over duplicate values; a cut traceback; a "
        "one-line French message). The wordings were added (every other bench log: no answer changed category). "
        f"Today: {b80[1]}/{b80[0]} with the model, {b80[4]}/{b80[0]} with the rules alone."
    )
    fr81, d81, b81 = BATCH81_FIRST_RUN, BATCH81_DECISIVE_FIRST_RUN, per_batch.get(81, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 81 ({fr81['n']} threads from bench/data/fresh_batch81.yaml, 12 categories with 4-7 cases each, 55 "
        "GitHub repositories, 12 of them also in earlier data with other threads, and 4 other pages; no thread in "
        "batches 1-80 or among those their collectors looked at) was gathered in the same session with the rest of "
        "its search budget, before batch 80 was read: six collectors (45 look-ups each) kept 64 of 1,040 threads, "
        "six reviewers dropped 2 and left 8 unverified, of which a second reviewer kept 5 (3 dropped). It was run "
        f"once against batch 80's wordings and the same model, frozen at commit {FREEZE81}. **First run, rules + "
        f"model: {fr81['right']}/{fr81['n']} ({fr81['right'] / fr81['n']:.1%}), {fr81['hi_wrong']} wrong at >= 0.8, "
        f"{fr81['unknown']} unknown**; the rules alone in the same run: {fr81['rules_right']}/{fr81['n']} "
        f"({fr81['rules_right'] / fr81['n']:.1%}); decisive lines {d81['plain']}/{d81['n']} alone, "
        f"{d81['buried']}/{d81['n']} buried. Freeze 80's code scores 45/59 too, freeze 20's 35/59, freeze 13's "
        "32/59; the packaged model alone 40/59. Its 14 misses: 3 wordings, all dependency (a program missing where a "
        "script run by dash looks for it, which the shell wording did not reach through the script's path; Ansible's "
        "'You need to install \"jmespath\" prior to'; a base image that dropped install-plugins.sh) and 11 that do "
        "not state the cause (two servers or tools that died without naming memory; a linked server's provider "
        "error behind a remote query timeout; a collection 'not found' and a 403 behind objects that were gone; "
        "Cloudflare's 'Authentication error' for a token without a permission; a download refused by a rate-limited "
        "server behind the TypeError that ended the run; three code_bug labels behind a request handler's crash, an "
        "invalid request and a missing path; a Go decode error followed by a nil-pointer panic, labelled "
        "schema_mismatch). The wordings were added (every other bench log: no answer changed), and the model was "
        "then retrained with batches 80 and 81. Today: "
        f"{b81[1]}/{b81[0]} with the model, {b81[4]}/{b81[0]} with the rules alone."
    )
    fr82, d82, b82 = BATCH82_FIRST_RUN, BATCH82_DECISIVE_FIRST_RUN, per_batch.get(82, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 82 ({fr82['n']} threads from bench/data/fresh_batch82.yaml, 12 categories with 6-9 cases each, 89 "
        "GitHub repositories, 13 of them also in earlier data with other threads, and 3 other pages; no thread in "
        "batches 1-81 or among those batches 34-81's collectors looked at) was gathered at the start of the next "
        "session with a new search budget: six collectors (120 look-ups each, under batch 80's texts) kept 94 of "
        "1,622 threads, six reviewers relabelled 1 and left 2 unverified, of which a second reviewer kept 1, and the "
        "merge dropped a second case from one repository. It was run once against batch 81's wordings and the model "
        f"retrained with batches 80 and 81, frozen at commit {FREEZE82}. **First run, rules + model: "
        f"{fr82['right']}/{fr82['n']} ({fr82['right'] / fr82['n']:.1%}), {fr82['hi_wrong']} wrong at >= 0.8, "
        f"{fr82['unknown']} unknown**; the rules alone in the same run: {fr82['rules_right']}/{fr82['n']} "
        f"({fr82['rules_right'] / fr82['n']:.1%}); decisive lines {d82['plain']}/{d82['n']} alone, "
        f"{d82['buried']}/{d82['n']} buried. Freeze 81's code (the model before that retraining) scores 47/92 too, "
        "freeze 20's 41/92, freeze 13's 41/92; the packaged model alone 54/92. 32 of its logs are a single line. "
        "Its 45 misses: 18 wordings no rule had or rules that misread them (vitest's 'Test timed out in 5000ms', "
        "Hugo's 'timed out initializing value', Symfony's 'The process timed-out.', Elixir's GenServer.call '** (EXIT) "
        "time out'; blockchain nodes without the state or blocks asked for: 'missing trie node', 'required "
        "historical state unavailable' twice, Solana's 'missing in long-term storage'; Copernicus' 'offline "
        "product' behind an HTTP 500; MDBX's full map and Slurm's bank_limit balance; Elasticsearch's strict "
        "mapping and Jackson's unknown enum value; two LaTeX .sty files not found, read as missing inputs; CMake's "
        "missing package configuration file; PlatformIO's Core version; Kubernetes' 'is invalid: ... Not found:') "
        "and 27 left alone: 5 that state the cause in words a rule would misread elsewhere (qemu's 'Cannot allocate "
        "memory' on a line the cut traceback swallowed, biber's '[403]' line counter read as a 403, a feed's XML "
        "entity, a beacon node's 'Block not found', a cluster 'running and accessible?') and 22 that do not state "
        "it (a Go linker's bare 'signal: killed', a Hypothesis deadline shown only by its runtime, WRF blaming "
        "pre-v4 input for a missing file, 're-authenticate' for a missing role, borg's InvalidRepository for a "
        "wrong owner, a checksum regression, a jwt failure from a changed API, INTERNAL_ERROR - null, an npm E404 "
        "behind an expired token, checkpoint warnings, SSPI's 'see inner exception', two Snowflake stages 'does not "
        "exist or not authorized' behind an old version and a CLI bug, a HeadBucket 400 behind a missing region, an "
        "archive download failure, two bare KeyErrors behind renamed fields, a Maven Central 403 that passed, an "
        "HTTP 500 on import, DICOM slices not stacked, 'list.remove(x)', 'Error on line 85124'). The wordings were "
        "added (every other bench log: no answer changed). Today: "
        f"{b82[1]}/{b82[0]} with the model, {b82[4]}/{b82[0]} with the rules alone."
    )
    fr83, d83, b83 = BATCH83_FIRST_RUN, BATCH83_DECISIVE_FIRST_RUN, per_batch.get(83, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 83 ({fr83['n']} threads from bench/data/fresh_batch83.yaml, 12 categories with 3-8 cases each, 67 "
        "GitHub repositories, 21 of them also in earlier data with other threads, and 2 other pages; no thread in "
        "batches 1-82 or among those their collectors looked at) was gathered in the same session with the rest of "
        "its search budget, before batch 82 was read: six collectors (45 look-ups each) kept 69 of 1,141 threads, "
        "six reviewers relabelled 1 and left 5 unverified, all of which a second reviewer kept. It was run once "
        f"against batch 82's wordings and the same model, frozen at commit {FREEZE83}. **First run, rules + model: "
        f"{fr83['right']}/{fr83['n']} ({fr83['right'] / fr83['n']:.1%}), {fr83['hi_wrong']} wrong at >= 0.8, "
        f"{fr83['unknown']} unknown**; the rules alone in the same run: {fr83['rules_right']}/{fr83['n']} "
        f"({fr83['rules_right'] / fr83['n']:.1%}); decisive lines {d83['plain']}/{d83['n']} alone, "
        f"{d83['buried']}/{d83['n']} buried. Freeze 82's code scores 57/69 too, freeze 20's 49/69, freeze 13's "
        "48/69; the packaged model alone 57/69. Its 12 misses: 4 wordings (two Google Cloud images that no longer "
        "exist, one 404 wrapped over three lines and one read as a preemption through a module named "
        "'preemptible'; a GitHub Actions runner whose registration was deleted; Rust's pkg-config that could not "
        "be run, read as a missing input) and 8 left alone (psql's lost connection and a kernel's task table behind "
        "out-of-memory kills; a TimeoutError whose limit a bug set wrongly, labelled code_bug; BMW's '403 Quota "
        "Exceeded', a call quota, read as resources; 'Private keys with passphrases are not supported' twice, once "
        "labelled credentials and once code_bug; an invalid polygon's 'Number of points must be 0 or >3'; a "
        "RuntimeError from NaN inputs). The wordings were added (every other bench log: no answer changed), and the "
        f"model was then retrained with batches 82 and 83. Today: {b83[1]}/{b83[0]} with the model, "
        f"{b83[4]}/{b83[0]} with the rules alone."
    )
    fr84, d84, b84 = BATCH84_FIRST_RUN, BATCH84_DECISIVE_FIRST_RUN, per_batch.get(84, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 84 ({fr84['n']} threads from bench/data/fresh_batch84.yaml, 12 categories with 6-9 cases each, 92 "
        "GitHub repositories, 35 of them also in earlier data with other threads, and 2 other pages; no thread in "
        "batches 1-83 or among those batches 34-83's collectors looked at) was gathered at the start of the next "
        "session with a new search budget: six collectors (120 look-ups each, under batch 80's texts) kept 96 of "
        "1,815 threads, six reviewers relabelled 2 (code_bug to credentials and to dependency), dropped 1 and left "
        "1 unverified, which a second reviewer kept, and the merge dropped a second case from one repository. It was "
        "run once against batch 83's wordings and the model retrained with batches 82 and 83, frozen at commit "
        f"{FREEZE84}. **First run, rules + model: {fr84['right']}/{fr84['n']} ({fr84['right'] / fr84['n']:.1%}), "
        f"{fr84['hi_wrong']} wrong at >= 0.8, {fr84['unknown']} unknown**; the rules alone in the same run: "
        f"{fr84['rules_right']}/{fr84['n']} ({fr84['rules_right'] / fr84['n']:.1%}); decisive lines "
        f"{d84['plain']}/{d84['n']} alone, {d84['buried']}/{d84['n']} buried. Freeze 83's code (the model before "
        "that retraining) scores 60/94, freeze 20's 54/94, freeze 13's 46/94; the packaged model alone 66/94. 28 of "
        "its logs are a single line. Its 37 misses: 14 wordings no rule had or rules that misread them (a service's "
        "'Conversion is taking too long' behind a 504, Trino's transaction 'Possibly expired?', a testcontainers "
        "wait that gave up, read as a missing input; sentinelsat's product 'not online' in the long-term archive, "
        "FTP's '550 ... file unavailable'; a token bucket's 'Limit reached (30 tokens per 30000 ms)'; S3's 'access "
        "key ID you provided does not exist', read as a missing input, and Snowflake's unparsable private key; "
        "'executable file not found in $PATH' and JRuby's 'no such file to load', both read as missing inputs; "
        "PostgreSQL's 'could not create unique index', MySQL's 1062 under Trilogy's ProtocolError, read as the "
        "network, and a foreign key failure whose PHP stack trace named Connection.php, which vetoed it; Overpass' "
        "'Probably the server is overcrowded') and 23 left alone: 5 that state the cause in words a rule would "
        "misread elsewhere (two read timeouts labelled timeout, where most in our data are the network; a list of "
        "lead times 'not available'; 'Unsupported Baseline: 03.01, minimum supported is 04.00'; 'which: command "
        "not found' outranked by the newer 'java: No such file or directory') and 18 that do not state it (a "
        "BrokenProcessPool and a Kubernetes job without pods behind out-of-memory kills; 'driver: bad connection' "
        "behind a connection limit; a replication-number error behind a full disk; a container that did not start "
        "in time; a key file that was no JSON; five code_bug labels behind a POSIX path check, a tracedir check, a "
        "BasicAuth type error, a pileup table without a header (read as the network: 'premature end of') and an "
        "SSH key that cron could not unlock; three cut tracebacks; a parameter without a value from a stale column "
        "map, a new key and a missing variable of changed formats; an ERDDAP server down behind FileNotFoundError). "
        "The wordings were added "
        "(every other bench log: one answer changed, batch 4's ETL that wrote duplicate ids, labelled code_bug, "
        "now read as data_quality from the duplicated key its log states), and the model was later retrained with "
        f"batches 84 and 85. Today: {b84[1]}/{b84[0]} with the model, {b84[4]}/{b84[0]} with the rules alone."
    )
    fr85, d85, b85 = BATCH85_FIRST_RUN, BATCH85_DECISIVE_FIRST_RUN, per_batch.get(85, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 85 ({fr85['n']} threads from bench/data/fresh_batch85.yaml, 10 categories with 2-8 cases each, 56 "
        "GitHub repositories, 13 of them also in earlier data with other threads; no thread in batches 1-84 or "
        "among those their collectors looked at) was gathered in the same session with the rest of its search "
        "budget, after batch 84's wordings: six collectors (45 look-ups each) kept 61 of 1,290 threads and found no "
        "upstream_missing or data_quality case that was not used already; six reviewers dropped 2 and left 8 "
        "unverified, of which a second reviewer kept 5, and the other 3 were dropped. It was run once against batch "
        f"84's wordings and the same model, frozen at commit {FREEZE85}. **First run, rules + model: "
        f"{fr85['right']}/{fr85['n']} ({fr85['right'] / fr85['n']:.1%}), {fr85['hi_wrong']} wrong at >= 0.8, "
        f"{fr85['unknown']} unknown**; the rules alone in the same run: {fr85['rules_right']}/{fr85['n']} "
        f"({fr85['rules_right'] / fr85['n']:.1%}); decisive lines {d85['plain']}/{d85['n']} alone, "
        f"{d85['buried']}/{d85['n']} buried. Freeze 84's code scores 32/56 too, freeze 20's 25/56, freeze 13's "
        "25/56; the packaged model alone 32/56. 20 of its logs are a single line. Its 24 misses: 11 wordings "
        "(InfluxDB's max-series-per-database cap; a Copernicus account that had not agreed to a dataset's terms; "
        "USGS' 'more than 10 downloads ... in the past 10 minutes'; sbt-ci-release's 'No access to secret "
        "variables'; TensorFlow's required feature not found; three Zabbix templates exported by a newer release, "
        "read as a dependency through 'unsupported version number'; a Jenkins plugin that needs a newer core; "
        "pandoc's missing filter; bash running a timestamp as a command, read as a missing program) and 13 left "
        "alone: 4 that state the cause in words a rule would misread elsewhere (a VPC CNI debug line with no free "
        "prefixes; two malformed base64 deploy keys, where the same wording was a code bug in a third log; "
        "Terraform's 'Could not retrieve the list of available versions', the network or a dependency in our "
        "data) and 9 that do not state it (a bare EOFError and a closed connection behind out-of-memory kills; "
        "retried downloads behind licence terms; four code_bug labels behind a bundle directory, a plugin version "
        "that exists already, a base64 error after an upgrade and a resolve error of a race; an old Nextflow's "
        "compilation error, labelled dependency; a KeyError on a field a newer firmware dropped). The wordings were "
        "added (every other bench log: no answer changed), and the model was then retrained with batches 84 and 85. "
        f"Today: {b85[1]}/{b85[0]} with the model, {b85[4]}/{b85[0]} with the rules alone."
    )
    fr86, d86, b86 = BATCH86_FIRST_RUN, BATCH86_DECISIVE_FIRST_RUN, per_batch.get(86, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 86 ({fr86['n']} threads from bench/data/fresh_batch86.yaml, 12 categories with 6-8 cases each, 92 "
        "GitHub repositories, 33 of them also in earlier data with other threads; no thread in batches 1-85 or "
        "among those batches 34-85's collectors looked at) was gathered at the start of the next session with a new "
        "search budget: six collectors (120 look-ups each; they used 429) kept 96 of 2,076 threads, six reviewers "
        "dropped 3 and left 2 unverified, of which a second reviewer kept 1. It was run once against batch 85's "
        f"wordings and the model retrained with batches 84 and 85, frozen at commit {FREEZE86}. **First run, rules + "
        f"model: {fr86['right']}/{fr86['n']} ({fr86['right'] / fr86['n']:.1%}), {fr86['hi_wrong']} wrong at >= 0.8, "
        f"{fr86['unknown']} unknown**; the rules alone in the same run: {fr86['rules_right']}/{fr86['n']} "
        f"({fr86['rules_right'] / fr86['n']:.1%}); decisive lines {d86['plain']}/{d86['n']} alone, "
        f"{d86['buried']}/{d86['n']} buried. Freeze 85's code (the model before that retraining) scores 62/92, "
        "freeze 20's 55/92, freeze 13's 51/92; the packaged model alone 69/92. 34 of its logs are a single line. "
        "Its 29 misses: 16 wordings no rule had or rules that misread them (MongoDB's sort past its memory limit, "
        "read as the network through MongoServerError; SKESA's 'Memory provided is insufficient'; Google Drive's "
        "full storage quota behind a 403, read as a permission; Hetzner's 'resource_limit_exceeded'; MySQL's "
        "'SELECT command denied' under SQLSyntaxErrorException, which a syntax-error rule contradicted and the model "
        "then read as a code bug; RabbitMQ's ACCESS_REFUSED on a queue; GCP's 'cannot act as service account'; "
        "'Logon failed. Check ... Password'; Azure SDK's cancel at its network timeout, read as a cancelled job "
        "beside the connection timeouts and then by the model as a timeout; Socrata's 'Illegal field name sent'; "
        "'returned non-zero exit status 127'; Java's 'Cannot run program ...: error=2' and dyld's 'Library not "
        "loaded', read as missing inputs; expat's syntax error, read as a SQL syntax error; an EDF file 'not "
        "compliant' and an EDF size mismatch) and 13 left alone: 4 that state the cause in words a rule would misread "
        "elsewhere ('context deadline exceeded' for a CI service's outage, a timeout in most logs; htslib's 'END is "
        "smaller than POS' warning above a segfault; SQLite's 'no such column: nan' for missing values; a report "
        "service's 'only available for past 365 days' for reports it had not published) and 9 that do not state it "
        "(a build that failed on a full disk; a ValueError and two KeyErrors behind missing or changed data; a 401, "
        "a refused login and a 403 labelled code_bug; a connection string broken by a '?' in the password, read by "
        "the model as a timeout through 'lock_wait_timeout'; R's 'object not found' behind a changed page layout). "
        "The wordings were added (every other bench log: with the rules alone two answers changed, both to their "
        "label; with the model none), and the model was later retrained with batches 86 and 87. "
        f"Today: {b86[1]}/{b86[0]} with the model, {b86[4]}/{b86[0]} with the rules alone."
    )
    fr87, d87, b87 = BATCH87_FIRST_RUN, BATCH87_DECISIVE_FIRST_RUN, per_batch.get(87, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 87 ({fr87['n']} threads from bench/data/fresh_batch87.yaml, 12 categories with 1-8 cases each, 60 "
        "GitHub repositories, 12 of them also in earlier data with other threads; no thread in batches 1-86 or "
        "among those their collectors looked at) was gathered in the same session with the rest of its search "
        "budget, after batch 86's wordings: six collectors (45 look-ups each) kept 62 of 1,956 threads, finding 1-3 "
        "cases each of data_quality, upstream_missing and timeout that were not used already; six reviewers dropped "
        "1 and left 1 unverified, which a second reviewer could not match to its thread word for word, so it was "
        f"dropped. It was run once against batch 86's wordings and the same model, frozen at commit {FREEZE87}. "
        f"**First run, rules + model: {fr87['right']}/{fr87['n']} ({fr87['right'] / fr87['n']:.1%}), "
        f"{fr87['hi_wrong']} wrong at >= 0.8, {fr87['unknown']} unknown**; the rules alone in the same run: "
        f"{fr87['rules_right']}/{fr87['n']} ({fr87['rules_right'] / fr87['n']:.1%}); decisive lines "
        f"{d87['plain']}/{d87['n']} alone, {d87['buried']}/{d87['n']} buried. Freeze 86's code scores 37/60 too, "
        "freeze 20's 29/60, freeze 13's 31/60; the packaged model alone 42/60. 13 of its logs are a single line. "
        "Its 23 misses: 12 wordings (GHC's 'Heap exhausted'; hypothesis' DeadlineExceeded wrapped over two lines, "
        "read as the network; SeaweedFS' 'No free volumes left'; Copernicus' 'no data is available within your "
        "requested subset'; 'blocked the request due to high usage'; Jenkins' UnapprovedUsageException for a script "
        "not yet approved; a grid proxy certificate's 'Proxy expired'; Hibernate's schema validation, a missing "
        "table and a column 'found [varchar ...], but expecting [int4 ...]'; Realm's 'Migration is required'; a "
        "Singer record's 'Additional properties are not allowed'; 'curl exit code was 6') and 11 left alone: 1 that "
        "states the cause in words a rule would misread elsewhere (Snowflake's 'Invalid parameter value type', a "
        "plugin's bug read as a type mismatch) and 10 that do not state it (a native compile and a file open that "
        "failed on memory and on the open-files limit; a 403 from a registry's user-agent policy; four code_bug "
        "labels behind a 400 from an S3-compatible store, a 403, a changed host key and a 500; 'Could not get data "
        "from the API' during an outage; a Julia package's stale compat bound; a validation whose traceback was cut "
        "before its error). The wordings were added (every other bench log: no answer changed), and the model was "
        f"then retrained with batches 86 and 87. Today: {b87[1]}/{b87[0]} with the model, {b87[4]}/{b87[0]} with "
        "the rules alone."
    )
    fr88, d88, b88 = BATCH88_FIRST_RUN, BATCH88_DECISIVE_FIRST_RUN, per_batch.get(88, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 88 ({fr88['n']} threads from bench/data/fresh_batch88.yaml, 12 categories with 7-8 cases each, 86 "
        "GitHub repositories, 29 of them also in earlier data with other threads, and 8 pages of other sites; no "
        "thread in batches 1-87 or among those their collectors looked at) was gathered with a new session's search "
        "budget: six collectors (120 look-ups each; they used 422) kept 96 of 1,707 threads; six reviewers dropped 1 "
        "and left 1 unverified, which a second reviewer relabelled from data_quality to code_bug, and the merge "
        "dropped a second case from one repository. It was run once against batch 87's wordings and the model "
        f"retrained with batches 86 and 87, frozen at commit {FREEZE88}. **First run, rules + model: "
        f"{fr88['right']}/{fr88['n']} ({fr88['right'] / fr88['n']:.1%}), {fr88['hi_wrong']} wrong at >= 0.8, "
        f"{fr88['unknown']} unknown**; the rules alone in the same run: {fr88['rules_right']}/{fr88['n']} "
        f"({fr88['rules_right'] / fr88['n']:.1%}); decisive lines {d88['plain']}/{d88['n']} alone, "
        f"{d88['buried']}/{d88['n']} buried. Freeze 87's code (the model before that retraining) scores 64/94, "
        "freeze 20's 56/94, freeze 13's 49/94; the packaged model alone 64/94. 39 of its logs are a single line. "
        "Its 31 misses: 12 wordings no rule had (Hypothesis' 'Unreliable test timings! ... which exceeded the "
        "deadline of'; GitHub Actions' hashFiles that 'couldn't finish within 120 seconds', read by the model as a "
        "code bug; ddmlib's ShellCommandUnresponsiveException; SonarQube's 'Analyzing this project requires to be "
        "authenticated'; Java's null message without its type, 'Cannot invoke ... because ... is null'; PyTorch's "
        "'Missing/Unexpected key(s) in state_dict' twice, once read as a code bug; Joplin's 'sync version of the "
        "target (2) does not match', read by the model as a code bug; 'database version too new' in Chinese; Ruby "
        "JSON's 'source sequence is illegal/malformed utf-8'; XGBoost's 'label exceed num_class'; spaCy's 'invalid "
        "whitespace entity spans') and 19 left alone: 3 that state the cause in words a rule would misread elsewhere "
        "(a shell's bare 'Killed' with exit 137, kept a guess below the answer threshold since other senders use "
        "SIGKILL too; a client's fixed 'read timeout=180', the network in most logs; USGS' 'Dataset status is "
        "unavailable to this user' for a retired dataset) and 16 that do not state it (an IllegalStateException "
        "behind a plugin's read timeout; a retired host that no longer resolves; 'assert 0 > 0' and a NoneType "
        "behind data never published; 'Data processing failure.' for a retired endpoint; AWS' bare 'Internal "
        "Failure' behind a rate limit; six code_bug labels behind a missing credentials file, a DVC config message, "
        "'error=<nil>', SonarQube's not-authorized message and 'Authentication required' from plugins that did not "
        "pass the login, and a binlog EOFException; an undefined method and an undefined property behind changed "
        "structures; an FTP 426 behind control characters in the data; a NoneType behind a corrupt image). The "
        "wordings were added (every other bench log: with the rules alone one answer changed, to its label; with the "
        "model none), and the model was later retrained with batches 88 and 89. "
        f"Today: {b88[1]}/{b88[0]} with the model, {b88[4]}/{b88[0]} with the rules alone."
    )
    fr89, d89, b89 = BATCH89_FIRST_RUN, BATCH89_DECISIVE_FIRST_RUN, per_batch.get(89, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 89 ({fr89['n']} threads from bench/data/fresh_batch89.yaml, 11 categories with 1-8 cases each, 50 "
        "GitHub repositories, 11 of them also in earlier data with other threads, and 1 page of another site; no "
        "thread in batches 1-88 or among those their collectors looked at) was gathered in the same session with the "
        "rest of its search budget, after batch 88's wordings: six collectors (45 look-ups each; they used 264) kept "
        "52 of 1,191 threads, finding 1-3 cases each of timeout, data_quality and schema_mismatch and no "
        "transient_network case that was not used already; six reviewers left 2 unverified, of which a second "
        "reviewer kept 1. It was run once against batch 88's wordings and the same model, frozen at commit "
        f"{FREEZE89}. "
        f"**First run, rules + model: {fr89['right']}/{fr89['n']} ({fr89['right'] / fr89['n']:.1%}), "
        f"{fr89['hi_wrong']} wrong at >= 0.8, {fr89['unknown']} unknown**; the rules alone in the same run: "
        f"{fr89['rules_right']}/{fr89['n']} ({fr89['rules_right'] / fr89['n']:.1%}); decisive lines "
        f"{d89['plain']}/{d89['n']} alone, {d89['buried']}/{d89['n']} buried (the line missing from both was in the "
        "excerpt but for an emoji's invisible variation selector, which the excerpt drops; the check now looks for the "
        "line as the excerpt shows it, and the first check is kept as measured). Freeze 88's code scores 37/51 too, "
        "freeze 20's 31/51, freeze 13's 31/51; the packaged model alone 39/51. 10 of its logs are a single line. Its "
        "14 misses: 6 wordings no rule had (Python's 'too many file descriptors in select()'; check-in scripts' "
        "Chinese cookie and login messages, 'Cookie失效', '登录失效', '尚未登录' and '账号Cookie有问题', three times; "
        "python-apt's 'The cache has no package named', read as a code bug through its KeyError; MySQL's 1406 'Data "
        "too long for column') and 8 left alone: 1 that states the cause in words a rule would misread elsewhere "
        "(hledger's 'unexpected space / expecting ...' for a bank's malformed CSV, a parser's words for any input) "
        "and 7 that do not state it (an LFS smudge failure for an object never pushed; a SQL syntax error that hid "
        "a permission; a 403 and a 302 behind expired cookies; four code_bug labels behind a 401 'invalid_client', a "
        "password-policy message, cookie-expired messages, which the new wordings now read as credentials, and "
        "'unkonwn err'). The wordings were added (every other bench log: no answer changed), and the model was then "
        f"retrained with batches 88 and 89. Today: {b89[1]}/{b89[0]} with the model, {b89[4]}/{b89[0]} with the "
        "rules alone."
    )
    fr90, d90, b90 = BATCH90_FIRST_RUN, BATCH90_DECISIVE_FIRST_RUN, per_batch.get(90, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 90 ({fr90['n']} threads from bench/data/fresh_batch90.yaml, 4 categories with 1-4 cases each, 8 "
        "GitHub repositories and 3 pages of two other sites; no thread in batches 1-89 or among those their "
        "collectors looked at) was gathered in the same session with the last of its search budget, after the model "
        "was retrained with batches 88 and 89: three collectors (18 look-ups each) kept 12 of 313 threads, and the "
        "merge dropped 1 whose thread batch 88 holds. It was run once against that model and batch 89's wordings, "
        f"frozen at commit {FREEZE90}. **First run, rules + model: {fr90['right']}/{fr90['n']} "
        f"({fr90['right'] / fr90['n']:.1%}), {fr90['hi_wrong']} wrong at >= 0.8, {fr90['unknown']} unknown**; the "
        f"rules alone in the same run: {fr90['rules_right']}/{fr90['n']}; decisive lines {d90['plain']}/{d90['n']} "
        f"alone, {d90['buried']}/{d90['n']} buried. Freeze 89's code scores 9/11 too, freeze 20's 7/11, freeze 13's "
        "7/11; the packaged model alone 9/11. Its 2 misses: 1 wording (a Nextflow distribution that 'only allows "
        "default plugins', an HPC's legacy module) and 1 that does not state its cause (Meltano's 'Extractor ... is "
        "not known' for a broken virtualenv). The wording was added (every other bench log: no answer changed). "
        f"Today: {b90[1]}/{b90[0]} with the model, {b90[4]}/{b90[0]} with the rules alone."
    )
    fr91, d91, b91 = BATCH91_FIRST_RUN, BATCH91_DECISIVE_FIRST_RUN, per_batch.get(91, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 91 ({fr91['n']} threads from bench/data/fresh_batch91.yaml, 12 categories with 7-8 cases each, 94 "
        "GitHub repositories, 46 of them also in earlier data with other threads, and 1 page of another site; no "
        "thread in batches 1-90 or among those their collectors looked at) was gathered with a new session's search "
        "budget: six collectors (120 look-ups each; they used 440) kept 95 of 1,539 threads, and six reviewers kept "
        "all 95. It was run once against batch 90's wordings and the model retrained with batches 88 and 89, frozen "
        f"at commit {FREEZE91}. **First run, rules + model: {fr91['right']}/{fr91['n']} "
        f"({fr91['right'] / fr91['n']:.1%}), {fr91['hi_wrong']} wrong at >= 0.8, {fr91['unknown']} unknown**; the "
        f"rules alone in the same run: {fr91['rules_right']}/{fr91['n']} ({fr91['rules_right'] / fr91['n']:.1%}); "
        f"decisive lines {d91['plain']}/{d91['n']} alone, {d91['buried']}/{d91['n']} buried. Freeze 90's code scores "
        "64/95 too, freeze 20's 58/95, freeze 13's 55/95; the packaged model alone 67/95. 32 of its logs are a single "
        "line. Its 31 misses: 12 wordings no rule had (.NET's UnauthorizedAccessException twice, both confidently "
        "read as credentials, which the OS refusing a known account is not; AWS Lambda's 'Runtime exited with error: "
        "signal: alarm clock'; an edge runtime's 'CPU time limit reached'; Java's 'Received fatal alert: "
        "certificate_expired', read by the model as the network; pass's 'is not in the password store'; httr's "
        "'oauth_listener() needs an interactive environment'; 'HTTP status is 503'; mkmf's 'can't find header files "
        "for ruby' twice; R's 'compilation failed for package'; Hugo's 'front matter field is not a parsable date') "
        "and 19 left alone: 5 that state the cause in words a rule would misread elsewhere (an edge proxy's 'The "
        "upstream server is timing out' for a function's own wall-clock limit, the network where gateways say it; "
        "Telegram's 'NetworkError: Timed out', which the rules read as the network below the model's threshold and "
        "the model as a timeout; a JSON reader's 'key not found' and a strict parser's 'unknown_key' for an API that "
        "changed its fields; Elasticsearch's 'failed to parse field [...] of type [ip]' for empty values, labelled "
        "data_quality and schema_mismatch about equally in the bench) and 14 that do not state it (fluentd's SIGKILL "
        "behind a memory cap; a bare 'Internal server error' behind a Lambda's time limit; YARN's 'local-dirs are "
        "bad' behind full disks; two TypeErrors behind pages and videos that no longer exist; an HTTP 410 behind a "
        "flag meant for the hosted service; five code_bug labels behind a class loader's FactoryConfigurationError "
        "and four 401 or expired-token messages of SDKs that did not renew their tokens; two KeyErrors behind "
        "changed API structures; acme.sh's 'Could not get nonce' while Let's Encrypt was down). The wordings were "
        "added (every other bench log: with the rules alone one answer changed, to its label; with the model none). "
        f"Today: {b91[1]}/{b91[0]} with the model, {b91[4]}/{b91[0]} with the rules alone."
    )
    fr92, d92, b92 = BATCH92_FIRST_RUN, BATCH92_DECISIVE_FIRST_RUN, per_batch.get(92, [0, 0, 0, 0, 0, 0])
    out.append(
        f"Batch 92 ({fr92['n']} threads from bench/data/fresh_batch92.yaml, 12 categories with 2-8 cases each, 67 "
        "GitHub repositories, 30 of them also in earlier data with other threads, and 4 pages of other sites; no "
        "thread in batches 1-91 or among those their collectors looked at) was gathered in the same session with the "
        "rest of its search budget, after batch 91's wordings and the model's retraining with batches 90 and 91: six "
        "collectors (50 look-ups each; they used 293) kept 74 of 1,173 threads, most of what their searches returned "
        "being used already; reviewers left 10 unverified, of which two second reviewers kept 7, and the other 3 were "
        f"dropped. It was run once against those wordings and that model, frozen at commit {FREEZE92}. **First run, "
        f"rules + model: {fr92['right']}/{fr92['n']} ({fr92['right'] / fr92['n']:.1%}), {fr92['hi_wrong']} wrong at "
        f">= 0.8, {fr92['unknown']} unknown**; the rules alone in the same run: {fr92['rules_right']}/{fr92['n']} "
        f"({fr92['rules_right'] / fr92['n']:.1%}); decisive lines {d92['plain']}/{d92['n']} alone, "
        f"{d92['buried']}/{d92['n']} buried. Freeze 91's code scores 47/71, batch 91's wordings with the model before "
        "its retraining 48/71, freeze 20's 40/71, freeze 13's 35/71; the packaged model alone 50/71. 21 of its logs "
        "are a single line. Its 22 misses: 10 wordings no rule had (Dart's 'Timed out waiting for the test suite to "
        "connect', read as a missing file through its 'Failed to load'; 'Could not find IMAGE in the registry' for a "
        "base image never built; GitHub Actions' nested job 'requesting contents: write, but only allowed contents: "
        "read', read as a code bug; Chinese '过于频繁' and '频繁请求' for uploads made too often; Windows' 'Logon "
        "failure: unknown user name or bad password'; MATLAB's licence token 'NOT in the time range for this token'; "
        "bpkg's 'unable to satisfy constraint'; rebar's 'OTP release 18 does not match required regex'; the BEAM's "
        "'please re-compile this module with an Erlang/OTP 25 compiler', read as a code bug through the 'undefined "
        "function' it caused) and 12 left alone: 1 that states the cause in words a rule would misread elsewhere (a "
        "CI step's bare 'exited with status 137' behind a memory cap) and 11 that do not state it (EUnit's "
        "'*skipped*' lines behind a fixture's own timeout; a Nix build log that goes silent behind the builder's "
        "silence limit; five code_bug labels behind 401/403 and expired-token messages, a Globus consent error and "
        "sshd's refusal of a directory's modes that the chart set; a KeyError behind a firmware's changed API; "
        "fp16 gradient overflows behind a silent audio file; two ZeroDivisionErrors behind annotations with a zero "
        "width). The wordings were added (every other bench log: no answer changed, with or without the model). "
        f"Today: {b92[1]}/{b92[0]} with the model, {b92[4]}/{b92[0]} with the rules alone."
    )
    return out


def _history(b3_right: int, b3_n: int) -> list[str]:
    """How the batches were run and what changed after each first run (fixed facts, not recomputed)."""
    now = f"{b3_right}/{b3_n} ({b3_right / b3_n:.1%})" if b3_n else "n/a"
    return [
        "Batch 2 was first run against the rules as they were: 40/50 (80.0%), 2 wrong at >= 0.8; batch 1 was 80/90. "
        "Three general gaps it showed were then closed (a throttling body inside a generic server-error exception, "
        "gRPC/Google `DEADLINE_EXCEEDED`, Kafka group-coordinator heartbeat lines); batch 1 was unchanged by them.",
        "Batch 3 (63 threads not used before) was gathered and labelled, then run once against the rules as they "
        "were, with the three relabels below not yet made (combined 125/140 = 89.3% at that point): **46/63 (73.0%), "
        "1 wrong at >= 0.8** - the honest held-out figure. General gaps it showed were then closed and checked "
        "against all batches, the own corpus and the unit tests: S3's throttling reason phrase `Slow Down` (503) "
        "next to the `SlowDown` code; a `java.io.FileNotFoundException` whose OS reason in parentheses is `Too many "
        "open files`, `No space left on device` or `Permission denied` is classified by that reason, not as a missing "
        "input; `Connect timeout` / `ConnectionTimeOut` as a network error; Snowflake's statement/warehouse timeout "
        "(000630) and a job that `did not complete within the designated timeout` as timeout; a validation summary "
        "`N of M expectations failed` as data quality; `type X doesn't match ... type Y` as a schema mismatch; "
        "Airflow 3's server-side state change (`no longer in the running state`) as killed_external; and, in "
        f'extraction, a line whose only failure word is `expired` or `unexpectedly` ("Authentication token has '
        f'expired", "driver has stopped unexpectedly") becomes the evidence of last resort instead of nothing. '
        f"Batch 3 after them: {now}; batch 1 is unchanged (80/90).",
        "Taxonomy decision: a client RPC deadline (`DEADLINE_EXCEEDED`, `DeadlineExceededException`, `504 Deadline "
        "Exceeded`) is the remote end not answering in time, not the task's own time limit, so it is now "
        "transient_network (rule `network.deadline_exceeded`, was `timeout.deadline_exceeded`). Three batch-2 labels "
        "contradicted the definitions and were changed from timeout to transient_network: "
        "stevezau/media_preview_generator#22 (requests `ReadTimeout` against a server), "
        "google-marketing-solutions/crmint#107 (HTTP call to the BigQuery API past its deadline) and "
        "nextflow-io/nextflow#5778 (gRPC call to batch.googleapis.com past its 60 s deadline). The first two were "
        "misses before; with the old labels and the old deadline rule the combined figure would be 181/203 (89.2%).",
        "The remaining misses: 8 logs carry no evidence of the cause the thread found (OOM behind a bare SIGTERM, "
        "SIGKILL, exit 137 or executor loss: 5; a full disk or file-descriptor limit surfacing as a missing file or a "
        "connection error: 2; a missing input surfacing as a NullPointerException: 1); 7 are bugs in a tool whose "
        "message reads like an input, schema or data problem; 2 are a level removed from what the log shows "
        "(a driver change surfacing as a unique violation, empty input as an unresolved column); 2 are unrecognised "
        "free text; 1 is an extraction gap (an Airflow 3 record pretty-printed over several lines).",
    ]


def _load_cases() -> list[dict[str, Any]]:
    """Batches 1-3 (public_bug_logs.yaml) and the fresh batches 4-23 (fresh_batchN.yaml)."""
    cases: list[dict[str, Any]] = yaml.safe_load((DATA / "public_bug_logs.yaml").read_text(encoding="utf-8"))["cases"]
    for b in FRESH_BATCHES:
        path = DATA / f"fresh_batch{b}.yaml"
        if path.exists():
            fresh = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
            cases = [*cases, *({**c, "batch": b} for c in fresh)]
    return cases


def bench_classification() -> dict[str, Any]:
    emit("## 1. Classification on real logs from public bug reports")
    emit()
    cases = _load_cases()
    confusion: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    ok = hi_wrong = base_ok = rules_ok = rules_hw = 0
    wrong_list = []
    # per batch: [cases, right, wrong >= 0.8, baseline, right by the rules alone, wrong >= 0.8 by the rules alone]
    per_batch: dict[int, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    model_ms: list[float] = []
    for c in cases:
        lines = c["log"].splitlines(keepends=True)
        t0 = time.perf_counter()
        d = diagnose_lines(lines)
        model_ms.append((time.perf_counter() - t0) * 1000)
        dr = diagnose_lines(lines, use_model=False)
        label = c["label"]
        batch = int(c.get("batch", 1))
        confusion[label][d.category] += 1
        right = d.category == label
        hw = not right and d.confidence >= 0.8
        r_right = dr.category == label
        r_hw = not r_right and dr.confidence >= 0.8
        base = baseline_classify(c["log"]) == label
        ok += right
        hi_wrong += hw
        base_ok += base
        rules_ok += r_right
        rules_hw += r_hw
        pb = per_batch[batch]
        for i, v in enumerate((1, right, hw, base, r_right, r_hw)):
            pb[i] += v
        if not right:
            wrong_list.append((c["url"], batch, label, d.category, d.confidence, d.rule_id))
    n = len(cases)
    acc, hiw, bacc = ok / n, hi_wrong / n, base_ok / n
    table(
        ["metric", "rules + model", "rules alone", "keyword baseline", "target"],
        [
            ["cases", n, n, n, ">= 60"],
            ["top-1 accuracy", f"{acc:.1%}", f"{rules_ok / n:.1%}", f"{bacc:.1%}", ">= 90%"],
            [
                "wrong with confidence >= 0.8",
                f"{hiw:.1%} ({hi_wrong})",
                f"{rules_hw / n:.1%} ({rules_hw})",
                "n/a",
                "<= 3%",
            ],
        ],
    )
    model_ms.sort()
    emit(
        f"Time per log, whole diagnose_lines call with the model: median {model_ms[len(model_ms) // 2]:.1f} ms, "
        f"max {model_ms[-1]:.1f} ms."
    )
    emit()
    batch_names = {1: "first set (batch 1)", 2: "added later (batch 2)", 3: "held out (batch 3)"}
    emit(
        f"Per batch, today (tuned). Batches 1-{TRAINED_THROUGH} are also the model's training data, so their "
        "rules + model figures are in-sample; the model's out-of-fold figures on them are printed by "
        "bench/train_classifier.py. "
        "The first run of each fresh batch is the figure recorded when it was first scored, before any change made "
        "after seeing it:"
    )
    emit()
    batch_rows = []
    for b in sorted(per_batch):
        bn, bok, bhw, bbase, brok, _ = per_batch[b]
        fr = FIRST_RUNS.get(b)
        batch_rows.append(
            [
                batch_names.get(b, f"fresh held out (batch {b})"),
                bn,
                f"{fr['right'] / fr['n']:.1%} ({fr['right']}), {fr['hi_wrong']} wrong >= 0.8" if fr else "-",
                f"{brok / bn:.1%} ({brok})",
                f"{bok / bn:.1%} ({bok})",
                f"{bhw / bn:.1%} ({bhw})",
                f"{bbase / bn:.1%}",
            ]
        )
    batch_rows.append(
        [
            "combined",
            n,
            "-",
            f"{rules_ok / n:.1%} ({rules_ok})",
            f"{acc:.1%} ({ok})",
            f"{hiw:.1%} ({hi_wrong})",
            f"{bacc:.1%}",
        ]
    )
    table(
        [
            "set",
            "cases",
            "first run (frozen)",
            "rules alone, tuned",
            "rules + model, tuned",
            "wrong >= 0.8 (rules + model)",
            "keyword baseline",
        ],
        batch_rows,
    )
    for para in _fresh_batches(per_batch):
        emit(para)
        emit()
    b3 = per_batch.get(3, [0, 0, 0, 0, 0, 0])
    for para in _history(b3[4], b3[0]):
        emit(para)
        emit()
    cats = [c for c in CATEGORIES if c in confusion or any(c in v for v in confusion.values())]
    emit("Confusion matrix (rows: label from the thread, columns: prediction):")
    emit()
    short = {c: c[:8] for c in cats}
    table(
        ["label \\ predicted", *[short[c] for c in cats]],
        [[lab, *[confusion[lab][p] or "" for p in cats]] for lab in cats if lab in confusion],
    )
    if wrong_list:
        emit("Misclassified cases:")
        emit()
        table(
            ["thread", "batch", "label", "predicted", "confidence", "rule"],
            [[u, bt, lab, p, f"{cf:.2f}", r] for u, bt, lab, p, cf, r in wrong_list],
        )
    # our own corpus, for reference (written by us, so not the headline number)
    exp = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
    own_ok = 0
    own_misses = []
    for name, e in exp.items():
        with open(CORPUS / name, "rb") as fh:
            d = diagnose_lines(b.decode("utf-8", "replace") for b in fh)
        own_ok += d.category == e["category"]
        if d.category != e["category"]:
            # a log that states no cause may get the model's guess below 0.8 (tests/data/logs/expected.yaml)
            why = ", a log that states no cause" if e.get("states_no_cause") else ""
            own_misses.append(f"{name}: {d.category} at {d.confidence:.2f} ({d.rule_id}{why})")
    emit(
        f"Own corpus (tests/data/logs, written by us): {own_ok}/{len(exp)} correct"
        + (f"; not: {'; '.join(own_misses)}." if own_misses else ".")
    )
    emit()
    return {
        "accuracy": acc,
        "high_conf_wrong": hiw,
        "baseline": bacc,
        "n": n,
        "rules_accuracy": rules_ok / n,
        "per_batch": {
            b: {"n": v[0], "accuracy": v[1] / v[0], "high_conf_wrong": v[2] / v[0], "rules_accuracy": v[4] / v[0]}
            for b, v in per_batch.items()
        },
    }


# ------------------------------------------------------------------------------------------------
# 2. extraction
# ------------------------------------------------------------------------------------------------


def bench_extraction() -> dict[str, Any]:
    emit("## 2. Extraction: decisive line inside the <= 2 KB excerpt")
    emit()
    exp = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
    cases = [(k, v) for k, v in exp.items() if v["evidence"]]
    before = noise_lines(5000, seed=1)
    after = noise_lines(5000, seed=2, with_warnings=False)
    plain_ok = buried_ok = 0
    sizes = []
    misses = []
    t0 = time.perf_counter()
    for name, e in cases:
        with open(CORPUS / name, "rb") as fh:
            lines = [b.decode("utf-8", "replace") for b in fh]
        d = diagnose_lines(lines)
        plain = e["evidence"] in d.excerpt and len(d.excerpt.encode()) <= 2000
        plain_ok += plain
        d2 = diagnose_lines(before + lines + after)
        buried = e["evidence"] in d2.excerpt and len(d2.excerpt.encode()) <= 2000
        buried_ok += buried
        sizes.append(len(d2.excerpt.encode()))
        if not (plain and buried):
            misses.append((name, plain, buried))
    dt = time.perf_counter() - t0
    # public cases: is the excerpt of the buried log the same decisive line as the plain log?
    pub = yaml.safe_load((DATA / "public_bug_logs.yaml").read_text(encoding="utf-8"))["cases"]
    stable = 0
    for c in pub:
        lines = c["log"].splitlines(keepends=True)
        on_its_own = diagnose_lines(lines)
        in_noise = diagnose_lines(before + lines + after)
        stable += bool(on_its_own.evidence) and on_its_own.evidence in in_noise.excerpt
    n = len(cases)
    fresh = _fresh_decisive(before, after)
    table(
        ["set", "cases", "decisive line in excerpt", "target"],
        [
            ["own corpus, plain", n, f"{plain_ok / n:.1%}", ">= 95%"],
            ["own corpus, buried in 10,000 noise lines", n, f"{buried_ok / n:.1%}", ">= 95%"],
            ["public bug logs, buried (same evidence as plain)", len(pub), f"{stable / len(pub):.1%}", "-"],
            *(
                [f"fresh batch {b} (decisive line labelled blind), {how}", f["n"], f"{f[how]:.1%}", ">= 95%"]
                for b, f in fresh.items()
                for how in ("plain", "buried")
            ),
        ],
    )
    for b, checked in fresh.items():
        if checked["misses"]:
            emit(f"Fresh batch {b}, decisive line not in the excerpt: {checked['misses']}")
            emit()
    emit(
        f"Excerpt size when buried: max {max(sizes)} B, mean {sum(sizes) / len(sizes):.0f} B; "
        f"{dt:.1f} s for the corpus."
    )
    if misses:
        emit(f"Misses: {misses}")
    emit()
    return {"plain": plain_ok / n, "buried": buried_ok / n, "public_stable": stable / len(pub), "fresh": fresh}


def _fresh_decisive(before: list[str], after: list[str]) -> dict[int, dict[str, Any]]:
    """Fresh batches whose cases carry a `decisive` line (chosen from the thread by a labeller who never ran
    the extractor): is it inside the excerpt, of the log alone and buried between noise lines? A decisive line
    that holds something the redactor masks is looked for as it reads once masked; the line's edges are trimmed
    (an excerpt shows a one-line block without the indentation a labeller may have copied)."""
    red = Redactor()
    out: dict[int, dict[str, Any]] = {}
    for b in (b for b in FRESH_BATCHES if b >= 7):  # decisive lines were labelled from batch 7 on
        path = DATA / f"fresh_batch{b}.yaml"
        if not path.exists():
            continue
        cases = [c for c in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"] if c.get("decisive")]
        if not cases:
            continue
        plain = buried = 0
        misses = []
        for c in cases:
            lines = c["log"].splitlines(keepends=True)
            # the excerpt never carries invisible characters (fence.strip_control drops them: an emoji's variation
            # selector after a Chinese check-in script's "‼"), so the line is looked for as the excerpt would show it
            wanted = tuple(strip_control(w) for w in (c["decisive"].strip(), red.redact(c["decisive"]).strip()))
            a = diagnose_lines(lines).excerpt
            z = diagnose_lines(before + lines + after).excerpt
            in_a, in_z = any(w in a for w in wanted), any(w in z for w in wanted)
            plain, buried = plain + in_a, buried + in_z
            if not (in_a and in_z):
                misses.append(c["url"].removeprefix("https://github.com/"))
        out[b] = {"n": len(cases), "plain": plain / len(cases), "buried": buried / len(cases), "misses": misses}
    return out


# ------------------------------------------------------------------------------------------------
# 3. redaction
# ------------------------------------------------------------------------------------------------


def _loghub_files() -> list[Path]:
    """The committed loghub samples plus any in ``$PIPELINE_SRE_LOGHUB_DIR`` (a folder of the loghub 2k
    structured files, e.g. HDFS, Zookeeper, OpenStack from logpai/loghub, not stored here)."""
    files = {p.name: p for p in (DATA / "loghub").glob("*_2k*.log_structured.csv")}
    extra = os.environ.get("PIPELINE_SRE_LOGHUB_DIR")
    if extra and Path(extra).is_dir():
        for p in Path(extra).glob("*_2k*.log_structured.csv"):
            files.setdefault(p.name, p)
    return sorted(files.values())


def _loghub_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _raw_line(row: dict[str, str]) -> str:
    parts = [row.get("Date", ""), row.get("Time", ""), row.get("Level", "")]
    if row.get("Process"):
        parts.append(f"[{row['Process']}]")
    if row.get("Component"):
        parts.append(f"{row['Component']}:")
    head = " ".join(p for p in parts if p)
    return f"{head} {row['Content']}" if head else row["Content"]


class NaiveRedactor:
    """Baseline: every rule's regex on every line, no prefilter (same rules, same output)."""

    def __init__(self) -> None:
        self.rules = [r for r in load_secret_rules() if r.regex is not None]

    def redact_line(self, line: str) -> str:
        for r in self.rules:
            assert r.regex is not None
            line = r.regex.sub(f"[REDACTED:{r.kind}]", line)
        return line


def _throughput_log(path: Path, mb: int) -> int:
    rnd = random.Random(3)
    secrets = [
        "[2024-05-02, 03:00:01 UTC] {hooks.py:21} INFO - connecting with password=Fake-Bench-Pass-1\n",
        "24/03/18 10:00:00 INFO Client: using token ghp_FakeFakeFakeFakeFakeFakeFakeFake1234\n",
        "curl -H 'Authorization: Bearer FakeBenchToken.abc-123' https://api.example.com\n",
        "s3 client AKIAZ3FAKEEXAMPLE7QX region=us-east-1\n",
    ]
    base = noise_lines(20000, seed=11)
    size = 0
    with open(path, "w", encoding="utf-8") as fh:
        while size < mb * 1_000_000:
            chunk = []
            for line in base:
                chunk.append(rnd.choice(secrets) if rnd.random() < 0.001 else line)
            text = "".join(chunk)
            fh.write(text)
            size += len(text.encode())
    return size


# The broad gitleaks set was scored once with the redaction rules frozen at commit 733a49b, before any
# change made after seeing it (gitleaks b58d3f102cf3a2c84cb7f923d05c25c9b1aed84b, 250 literal positives
# of 37 rule files, 291 literal negatives). Kept here so the table always shows it beside today's figure.
GITLEAKS_FIRST_RUN = {"with_catalog": (237, 250), "own_rules": (212, 250), "fps_unchanged": (167, 291)}


def _ratio(hit: int, n: int) -> str:
    return f"{hit}/{n} = {hit / n:.1%}"


def _suite_recall(red: Redactor) -> tuple[dict[str, list[int]], dict[str, list[int]], list[tuple[str, str, str]]]:
    per: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    per_suite: dict[str, list[int]] = {}
    missed = []
    for suite, fname in SECRET_SUITES:
        counts = per_suite.setdefault(suite, [0, 0])
        for raw in (DATA / fname).read_text(encoding="utf-8").splitlines():
            if not raw or raw.startswith("#"):
                continue
            _src, det, ex = raw.split("\t", 2)
            text = ex.replace("\\n", "\n")
            out = red.redact(text)
            hit = out != text and "[REDACTED:" in out
            per[det][0] += hit
            per[det][1] += 1
            counts[0] += hit
            counts[1] += 1
            if not hit:
                missed.append((suite, det, ex[:70]))
    return per, per_suite, missed


def _gitleaks_broad(red: Redactor) -> dict[str, Any] | None:
    folder = gitleaks_folder()
    if folder is None:
        return None
    examples = examples_from(folder)
    hit = tot = neg = neg_same = 0
    families: set[str] = set()
    missed: list[tuple[str, str]] = []
    for e in examples:
        out = red.redact(e.text)
        if e.positive:
            ok = out != e.text and "[REDACTED:" in out
            hit += ok
            tot += 1
            families.add(e.rule)
            if not ok:
                missed.append((e.rule, e.text[:70]))
        else:
            neg += 1
            neg_same += out == e.text
    return {"hit": hit, "n": tot, "families": len(families), "neg": neg, "neg_same": neg_same, "missed": missed}


def bench_redaction(quick: bool) -> dict[str, Any]:
    emit("## 3. Redaction")
    emit()
    red = Redactor()
    own = Redactor(catalog=False)
    emit(
        "Two layers: our rules (`rules/secrets.yaml` + multi-line state) and, underneath, the Kingfisher catalogue "
        f"(`kingfisher-secret-scanner`, {'installed' if catalog_available() else 'NOT installed in this run'})."
    )
    emit()
    per, per_suite, missed = _suite_recall(red)
    own_per, _, _ = _suite_recall(own)
    tot_hit = sum(v[0] for v in per.values())
    tot = sum(v[1] for v in per.values())
    own_hit = sum(v[0] for v in own_per.values())
    emit(
        f"Recall on the {tot} positives of the two committed suites (the kinds this repository claims; the rules "
        f"were written against them, so this is a tuned figure): **{tot_hit / tot:.1%}** ({own_hit / tot:.1%} with "
        "our rules alone). An example counts as masked when the output differs and holds a `[REDACTED:` mask."
    )
    emit()
    table(
        ["suite", "file", "masked", "examples", "recall"],
        [
            [k, f"bench/data/{dict(SECRET_SUITES)[k]}", v[0], v[1], f"{v[0] / max(1, v[1]):.1%}"]
            for k, v in per_suite.items()
        ],
    )
    if missed:
        emit("Not masked:")
        emit()
        table(
            ["suite", "detector", "example (first 70 chars)"],
            [[su, d, "`" + e.replace("|", "\\|") + "`"] for su, d, e in missed],
        )
    broad = _gitleaks_broad(red)
    broad_own = _gitleaks_broad(own)
    fr = GITLEAKS_FIRST_RUN
    if broad is not None and broad_own is not None:
        emit(
            f"Broad set: every literal true positive in gitleaks' rule files ({broad['n']} examples of "
            f"{broad['families']} rule files; values gitleaks builds with generators are not included) and its "
            f"{broad['neg']} literal false positives, read at run time from `$PIPELINE_SRE_GITLEAKS_RULES` (not stored "
            "here). First run = scored once with the rules frozen at 733a49b, before looking at the set; tuned = "
            "today, after five general gaps it showed were closed (curl `-u :pw` / `-u user:`, `-u user:pw` on a "
            "continuation line, Sidekiq bundle credentials, a Sourcegraph key after its name, and a keyword + "
            "entropy rule narrowed to key names that end in key/secret/token/signature so `API_VERSION=` and "
            "`X-API-Name` stay)."
        )
        emit()
        table(
            ["set", "first run (frozen rules)", "tuned (today)"],
            [
                [
                    "gitleaks literal positives, with catalogue",
                    _ratio(*fr["with_catalog"]),
                    f"{broad['hit']}/{broad['n']} = **{broad['hit'] / broad['n']:.1%}**",
                ],
                [
                    "gitleaks literal positives, our rules alone",
                    _ratio(*fr["own_rules"]),
                    f"{broad_own['hit']}/{broad_own['n']} = {broad_own['hit'] / broad_own['n']:.1%}",
                ],
                [
                    "gitleaks literal negatives left unchanged",
                    f"{fr['fps_unchanged'][0]}/{fr['fps_unchanged'][1]}",
                    f"{broad['neg_same']}/{broad['neg']}",
                ],
            ],
        )
        emit(
            "The gitleaks negatives are near-misses of one rule's format (placeholders such as `AKIAXXXXXXXXXXXXXXXX`, "
            "example keys, variable references); masking many of them is the safe side for logs, so they are shown, "
            "not targeted. The negatives that matter for logs are the ordinary lines below."
        )
        emit()
        if broad["missed"]:
            table(
                ["rule file", "not masked (first 70 chars)"],
                [[r, "`" + t.replace("|", "\\|").replace("\n", " ") + "`"] for r, t in broad["missed"]],
            )
    else:
        emit(
            f"Broad set: not run (set `PIPELINE_SRE_GITLEAKS_RULES`). Recorded first run: "
            f"{fr['with_catalog'][0]}/{fr['with_catalog'][1]} with the catalogue."
        )
        emit()
    # false positives on ordinary lines
    files = _loghub_files()
    unchanged = total = 0
    changed_examples: list[str] = []
    for f in files:
        for row in _loghub_rows(f):
            line = _raw_line(row)
            out = red.redact(line)
            total += 1
            if out == line:
                unchanged += 1
            elif len(changed_examples) < 5:
                changed_examples.append(line[:120])
    noise = noise_lines(20000, seed=5)
    noise_unchanged = sum(red.redact(x) == x for x in noise)
    emit(
        f"Ordinary lines unchanged: loghub ({', '.join(f.name for f in files)}): {unchanged}/{total} "
        f"= **{unchanged / max(1, total):.2%}**; generated noise: {noise_unchanged}/{len(noise)} "
        f"= {noise_unchanged / len(noise):.2%} (target >= 99.5%)."
    )
    if changed_examples:
        emit(f"Changed: {changed_examples}")
    emit()
    # throughput
    mb = 20 if quick else 100
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "redact.log"
        size = _throughput_log(path, mb)
        timings: dict[str, float] = {}
        for label, make in (("stream", Redactor), ("stream_own", functools.partial(Redactor, catalog=False))):
            r = make()
            t0 = time.perf_counter()
            with open(path, encoding="utf-8") as fh:
                for _chunk in r.redact_stream(fh):
                    pass
            timings[label] = time.perf_counter() - t0
        r1 = Redactor()
        t0 = time.perf_counter()
        with open(path, encoding="utf-8") as fh:
            for _chunk in r1.redact_reader(fh):
                pass
        timings["reader"] = time.perf_counter() - t0
        r2 = Redactor()
        t0 = time.perf_counter()
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                r2.redact_line(line)
        timings["line"] = time.perf_counter() - t0
        # naive baseline on a 10 MB slice (it is slow), extrapolated as MB/s
        naive = NaiveRedactor()
        t0 = time.perf_counter()
        nb = 0
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                naive.redact_line(line)
                nb += len(line)
                if nb >= 10_000_000:
                    break
        naive_s = time.perf_counter() - t0
    mbs = size / 1e6
    stream_s = timings["reader"]
    line_s = timings["line"]
    table(
        ["method", "MB", "seconds", "MB/s", "target"],
        [
            [
                "Redactor.redact_reader, 1 MB blocks of the file, our rules + catalogue (`pipeline-sre redact FILE`)",
                f"{mbs:.0f}",
                f"{stream_s:.2f}",
                f"{mbs / stream_s:.0f}",
                ">= 100",
            ],
            [
                "Redactor.redact_stream, the file's lines, our rules + catalogue",
                f"{mbs:.0f}",
                f"{timings['stream']:.2f}",
                f"{mbs / timings['stream']:.0f}",
                "-",
            ],
            [
                "Redactor.redact_stream, our rules alone (catalog=False)",
                f"{mbs:.0f}",
                f"{timings['stream_own']:.2f}",
                f"{mbs / timings['stream_own']:.0f}",
                "-",
            ],
            [
                "Redactor.redact_line (line by line, with state)",
                f"{mbs:.0f}",
                f"{line_s:.2f}",
                f"{mbs / line_s:.0f}",
                "",
            ],
            [
                "naive: every regex on every line",
                f"{nb / 1e6:.0f}",
                f"{naive_s:.2f}",
                f"{nb / 1e6 / naive_s:.1f}",
                "baseline",
            ],
        ],
    )
    emit(
        "One core (the machine has 2, shared with other work, so figures vary by about 10% between runs). The "
        "catalogue scans only the lines that hold a run of 16+ token characters, in one native call per batch."
    )
    emit()
    return {
        "broad": broad,
        "recall": tot_hit / tot,
        "unchanged": unchanged / max(1, total),
        "stream_mbs": mbs / stream_s,
        "line_mbs": mbs / line_s,
        "naive_mbs": nb / 1e6 / naive_s,
    }


# ------------------------------------------------------------------------------------------------
# 4. grouping accuracy
# ------------------------------------------------------------------------------------------------


def grouping_accuracy(truth: Sequence[str], predicted: Sequence[Any]) -> float:
    """loghub's grouping accuracy: the share of lines whose predicted group holds exactly the lines of
    one ground-truth event (same line set), as computed by the loghub/logparser evaluator."""
    truth_count = collections.Counter(truth)
    groups: dict[Any, list[int]] = collections.defaultdict(list)
    for i, p in enumerate(predicted):
        groups[p].append(i)
    correct = 0
    for idxs in groups.values():
        events = {truth[i] for i in idxs}
        if len(events) == 1 and truth_count[next(iter(events))] == len(idxs):
            correct += len(idxs)
    return correct / len(truth) if truth else 0.0


def bench_grouping() -> dict[str, Any]:
    emit("## 4. Template grouping accuracy (loghub definition)")
    emit()
    rows = []
    res: dict[str, Any] = {}
    for f in _loghub_files():
        name = f.name.split("_")[0]
        data = _loghub_rows(f)
        truth = [r["EventId"] for r in data]
        contents = [r["Content"] for r in data]
        ours = TemplateMiner()
        pred = [ours.add(c)[0] for c in contents]
        acc = grouping_accuracy(truth, pred)
        # baseline: drain3 as shipped (no masking), default threshold
        base = TemplateMiner(masking=())
        bpred = [base.add(c)[0] for c in contents]
        bacc = grouping_accuracy(truth, bpred)
        pub = DRAIN_PUBLISHED.get(name)
        rows.append([f.name, len(data), f"{acc:.4f}", f"{bacc:.4f}", pub if pub is not None else "-"])
        res[f.name] = acc
    table(["file", "lines", "TemplateMiner (ours)", "drain3 without masking", "Drain published (full 2k)"], rows)
    emit(
        "TemplateMiner runs with its defaults (similarity 0.4, depth 4, the built-in masking of URLs, IPs, UUIDs, "
        "hex and numbers) on every file: no per-dataset regexes or thresholds. Ground truth: the full loghub 2k "
        "structured files (bench/data/loghub/README.md). Accuracy is loghub's: a line counts only when the set of "
        "lines in its predicted group equals the set of lines of its true event."
    )
    emit()
    res["_published"] = {f: DRAIN_PUBLISHED.get(f.split("_")[0]) for f in list(res)}
    return res


# ------------------------------------------------------------------------------------------------
# 5. scale
# ------------------------------------------------------------------------------------------------

_CHILD = r"""
import resource, sys, time, json
sys.path.insert(0, sys.argv[3])
from pipeline_sre.diagnosis import diagnose_lines, extract_errors
path, mode = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
with open(path, "rb") as raw:
    import io
    fh = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
    if mode == "extract":
        blocks = extract_errors(fh)
        ev = blocks[0].evidence if blocks else ""
        cat = "-"
    else:
        d = diagnose_lines(fh)
        ev, cat = d.evidence, d.category
dt = time.perf_counter() - t0
# this process's own peak: Linux carries ru_maxrss across exec, so it would report the benchmark that forked it
# (about 135 MB) whenever that was larger; VmHWM belongs to the new program's memory alone
try:
    peak = next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "rss_mb": peak, "evidence": ev[:200], "category": cat}))
"""


def _write_big_log(path: Path, mb: int) -> int:
    base = "".join(noise_lines(20000, seed=21, with_warnings=False))
    err = (
        "[2024-05-02, 04:00:01 UTC] {taskinstance.py:2731} ERROR - Task failed with exception\n"
        "Traceback (most recent call last):\n"
        '  File "/opt/airflow/dags/etl.py", line 91, in load\n'
        "    cur.execute(sql)\n"
        'psycopg2.errors.UndefinedColumn: column "event_ts" does not exist\n'
    )
    size = 0
    with open(path, "w", encoding="utf-8") as fh:
        wrote_err = False
        while size < mb * 1_000_000:
            fh.write(base)
            size += len(base)
            if not wrote_err and size > mb * 500_000:
                fh.write(err)
                size += len(err)
                wrote_err = True
        fh.write("[2024-05-02, 05:00:00 UTC] {local_task_job_runner.py:234} INFO - Task exited with return code 1\n")
    return size


def bench_scale(quick: bool) -> dict[str, Any]:
    emit("## 5. Scale")
    emit()
    mb = 40 if quick else 200
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "big.log"
        size = _write_big_log(path, mb)
        rows = []
        for mode in ("extract", "diagnose"):
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, str(path), mode, str(ROOT / "src")],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            found = "event_ts" in r["evidence"]
            rows.append(
                [mode, f"{size / 1e6:.0f} MB", f"{r['seconds']:.2f}", f"{r['rss_mb']:.0f}", found, "< 2 s, < 200 MB"]
            )
            res[mode] = r
        table(["call", "log size", "wall s", "peak RSS MB", "error found", "target (200 MB)"], rows)
    # 1.2 MB airflow log: credential on the line right before the error at the end
    noise = [
        f"[2024-05-02, 03:{(i // 60) % 60:02d}:{i % 60:02d} UTC] {{etl.py:88}} INFO - copied chunk {i} "
        f"({i * 13 % 9973} rows) to staging.events_{i % 5}\n"
        for i in range(13_000)
    ]
    tail = [
        "[2024-05-02, 04:00:00 UTC] {etl.py:90} INFO - "
        "dsn=postgresql://etl:Fake-Dsn-Pass@db:5432/dw password=Fake-Dsn-Pass\n",
        "[2024-05-02, 04:00:01 UTC] {taskinstance.py:2731} ERROR - Task failed with exception\n",
        "Traceback (most recent call last):\n",
        '  File "/opt/airflow/dags/etl.py", line 91, in load\n',
        "    cur.execute(sql)\n",
        'psycopg2.errors.UndefinedColumn: column "event_ts" does not exist\n',
        "[2024-05-02, 04:00:01 UTC] {taskinstance.py:1149} INFO - Marking task as FAILED.\n",
        "[2024-05-02, 04:00:01 UTC] {local_task_job_runner.py:234} INFO - Task exited with return code 1\n",
    ]
    lines = noise + tail
    in_size = sum(len(x.encode()) for x in lines)
    d = diagnose_lines(lines)
    out = json.dumps(
        {
            k: d.to_dict()[k]
            for k in ("category", "confidence", "signature", "exception", "message", "evidence", "excerpt")
        }
    )
    naive = "".join(lines[-200:])  # what "send the last 200 lines" would hand over
    table(
        ["approach", "input", "output bytes", "decisive line present", "credential present"],
        [
            [
                "diagnose --format json",
                f"{in_size / 1e6:.2f} MB",
                len(out.encode()),
                "event_ts" in d.evidence and d.evidence in d.excerpt,
                "Fake-Dsn-Pass" in out,
            ],
            [
                "baseline: last 200 lines",
                f"{in_size / 1e6:.2f} MB",
                len(naive.encode()),
                "event_ts" in naive,
                "Fake-Dsn-Pass" in naive,
            ],
        ],
    )
    res["airflow_1_2mb"] = {"output_bytes": len(out.encode()), "credential": "Fake-Dsn-Pass" in out}
    return res


def mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _summary(r: dict[str, Any]) -> None:
    emit("## Targets")
    emit()
    c, e, red, sc, grp = r["classify"], r["extract"], r["redact"], r["scale"], r["group"]
    pub = grp.get("_published", {})
    compared = [(f, acc, pub[f]) for f, acc in grp.items() if f != "_published" and pub.get(f) is not None]
    grp_text = ", ".join(f"{f.split('_')[0]} {acc:.4f} vs {p}" for f, acc, p in compared) or "no data"
    grp_ok = bool(compared) and all(acc >= p for _, acc, p in compared)

    rows = [
        [
            f"classification top-1 accuracy (real logs, {c['n']} combined, tuned and in-sample for the model)",
            ">= 90%",
            f"{c['accuracy']:.1%} ("
            + ", ".join(f"batch {b}: {v['accuracy']:.1%} of {v['n']}" for b, v in sorted(c["per_batch"].items()))
            + ")",
            mark(c["accuracy"] >= 0.9),
        ],
        [
            "wrong answers with confidence >= 0.8 (all batches, tuned)",
            "<= 3%",
            f"{c['high_conf_wrong']:.1%}",
            mark(c["high_conf_wrong"] <= 0.03),
        ],
        ["decisive line in excerpt (own corpus, buried)", ">= 95%", f"{e['buried']:.1%}", mark(e["buried"] >= 0.95)],
        *(_decisive_row(b, f) for b, f in e["fresh"].items()),
        [
            "redaction recall (committed scanner positives, tuned)",
            ">= 99%",
            f"{red['recall']:.1%}",
            mark(red["recall"] >= 0.99),
        ],
        [
            "redaction recall, broad gitleaks set (first run / tuned)",
            ">= 99%",
            (
                f"{_ratio(*GITLEAKS_FIRST_RUN['with_catalog'])} / "
                + (_ratio(red["broad"]["hit"], red["broad"]["n"]) if red.get("broad") else "not run")
            ),
            mark(bool(red.get("broad")) and red["broad"]["hit"] / red["broad"]["n"] >= 0.99),
        ],
        [
            "classification, fresh batch 4 (first run, rules / tuned, rules + model)",
            ">= 90%",
            f"{_ratio(BATCH4_FIRST_RUN['right'], BATCH4_FIRST_RUN['n'])} / {c['per_batch'][4]['accuracy']:.1%}",
            mark(BATCH4_FIRST_RUN["right"] / BATCH4_FIRST_RUN["n"] >= 0.9),
        ],
        *(_first_run_row(b, FIRST_RUNS[b], "tuned", c["per_batch"][b]["accuracy"]) for b in FRESH_BATCHES if b >= 5),
        ["ordinary loghub lines unchanged", ">= 99.5%", f"{red['unchanged']:.2%}", mark(red["unchanged"] >= 0.995)],
        [
            "redaction throughput (stream, one core)",
            ">= 100 MB/s",
            f"{red['stream_mbs']:.0f} MB/s",
            mark(red["stream_mbs"] >= 100),
        ],
        [
            "200 MB extract_errors",
            "< 2 s, < 200 MB",
            f"{sc['extract']['seconds']:.2f} s, {sc['extract']['rss_mb']:.0f} MB",
            mark(sc["extract"]["seconds"] < 2 and sc["extract"]["rss_mb"] < 200),
        ],
        [
            "loghub grouping accuracy (full 2k files)",
            ">= Drain on every sample",
            grp_text,
            mark(grp_ok),
        ],
    ]
    table(["target", "goal", "result", "status"], rows)


def _decisive_row(batch: int, today: dict[str, Any]) -> list[str]:
    """A fresh batch's decisive lines in the excerpt: the first check, when one is recorded, beside today."""
    first = DECISIVE_FIRST_RUNS.get(batch)
    now = f"{today['plain']:.1%} / {today['buried']:.1%}"
    if first is None:
        label = f"decisive line in excerpt, fresh batch {batch} (alone / buried)"
        return [label, ">= 95%", now, mark(today["buried"] >= 0.95)]
    then = f"{_ratio(first['plain'], first['n'])} / {_ratio(first['buried'], first['n'])}"
    return [
        f"decisive line in excerpt, fresh batch {batch} (alone / buried; first check / today)",
        ">= 95%",
        f"{then} / {now}",
        mark(first["buried"] / first["n"] >= 0.95),
    ]


def _first_run_row(batch: int, first: dict[str, int], now: str, accuracy: float) -> list[str]:
    """A fresh batch's first run (accuracy, confidently wrong) beside its figure now, against both goals."""
    right, hi_wrong = first["right"] / first["n"], first["hi_wrong"] / first["n"]
    return [
        f"classification, fresh batch {batch} (first run / {now}, rules + model)",
        ">= 90%, <= 3% wrong >= 0.8",
        f"{_ratio(first['right'], first['n'])}, {hi_wrong:.1%} / {accuracy:.1%}",
        mark(right >= 0.9 and hi_wrong <= 0.03),
    ]


def _readme(r: dict[str, Any]) -> None:
    """The paragraph and table the main README's "Diagnosis" section is updated from."""
    c, red, grp = r["classify"], r["redact"], r["group"]
    newest = max(FIRST_RUNS)
    fr = FIRST_RUNS[newest]
    recent = [FIRST_RUNS[b] for b in sorted(FIRST_RUNS)[-5:]]
    last5 = [b["right"] / b["n"] for b in recent]
    earlier = ", ".join(
        f"batch {b}'s ({FIRST_RUNS[b]['n']} logs) {FIRST_RUNS[b]['right'] / FIRST_RUNS[b]['n']:.1%}"
        for b in sorted(FIRST_RUNS, reverse=True)[1:]
    )
    broad = red.get("broad")
    pub = grp.get("_published", {})
    groups = ", ".join(
        f"{f.split('_')[0]} {acc:.3f} (Drain {pub[f]})" for f, acc in grp.items() if f != "_published" and pub.get(f)
    )
    emit("## README figures (Diagnosis)")
    emit()
    emit(
        "Every figure is shown beside the first run on data the rules had never seen. Classification (rules with the "
        f"learned model under them): on the newest fresh batch (batch {newest}, {fr['n']} real logs from public issue "
        "threads, labelled from each thread's conclusion and committed before any run, rules and model frozen first) "
        f"the first run scored {fr['right'] / fr['n']:.1%} with {fr['hi_wrong'] / fr['n']:.1%} confidently wrong and "
        f"{fr['unknown']} unknown (rules alone {fr['rules_right'] / fr['n']:.1%}); earlier first runs: {earlier}. "
        "The code before each freeze scores about the same on each batch, so the changes between freezes moved these "
        f"figures little. On all {c['n']} logs {c['accuracy']:.1%} (in-sample for batches 1-{TRAINED_THROUGH}, "
        f"which the model is trained on). The first-run figures, {min(last5):.1%} to {max(last5):.1%} over the last "
        "five batches, are the ones to expect on logs we have not seen; `unknown` is answered rather than a guess "
        "when the evidence is weak. Redaction runs our log-oriented rules (key/value pairs, URI and CLI credentials, "
        "config text printed into logs, PEM/OpenSSH blocks fed line by line, Kubernetes Secret YAML, keyword + "
        "entropy) over the Kingfisher secret catalogue (488 provider formats, in-process)."
    )
    emit()
    rows = [
        *(
            [
                f"classification top-1, fresh batch {b} (first run)",
                f"{FIRST_RUNS[b]['right'] / FIRST_RUNS[b]['n']:.1%} of {FIRST_RUNS[b]['n']}",
            ]
            for b in sorted(FIRST_RUNS, reverse=True)
            if b >= 10
        ),
        ["classification top-1, all batches (tuned)", f"{c['accuracy']:.1%} of {c['n']}"],
        [
            f"confidently wrong (>= 0.8), batch {newest} first run / all tuned",
            f"{fr['hi_wrong'] / fr['n']:.1%} / {c['high_conf_wrong']:.1%}",
        ],
        [
            "secret recall, gitleaks literal positives (first run / tuned)",
            f"{_ratio(*GITLEAKS_FIRST_RUN['with_catalog'])} / "
            + (_ratio(broad["hit"], broad["n"]) if broad else "not run"),
        ],
        ["secret recall, committed scanner suites (tuned)", f"{red['recall']:.1%}"],
        ["ordinary loghub lines left unchanged", f"{red['unchanged']:.2%}"],
        ["redaction throughput, streaming, one core", f"{red['stream_mbs']:.0f} MB/s"],
        ["template grouping vs Drain (loghub 2k)", groups or "not run"],
    ]
    table(["measure", "result"], rows)
    emit(
        f"Limits of these figures: decisive lines are labelled for batches 7-{newest} only (section 2); batches 1-6 "
        "are checked for the same evidence with and without 10,000 noise lines. The broad "
        "secret set and the HDFS/Zookeeper/OpenStack/BGL/Apache loghub samples are read from local copies "
        "(`PIPELINE_SRE_GITLEAKS_RULES`, `PIPELINE_SRE_LOGHUB_DIR`) and are not stored here; without them those rows "
        f"are skipped. The learned model is trained on {TRAINED_ON:,} logs (batches 1-{TRAINED_THROUGH} and "
        "the training corpus) and the catalogue's 349 canonical messages; its "
        "out-of-fold figures, printed by bench/train_classifier.py, are in-sample for the rules, which have been tuned "
        "on every one of those logs' misses (issue 12), so the fresh batches' first runs, not these, are where this "
        "classifier stands on new logs."
    )
    emit()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller generated logs")
    ap.add_argument("--only", choices=["classify", "extract", "redact", "group", "scale"], default=None)
    args = ap.parse_args(argv)
    emit("# pipeline_sre.diagnosis benchmark results")
    emit()
    emit(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; generated by "
        f"`python bench/bench_diagnosis.py{' --quick' if args.quick else ''}`."
    )
    emit()
    summary: dict[str, Any] = {}
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "classify": lambda: bench_classification(),
        "extract": lambda: bench_extraction(),
        "redact": lambda: bench_redaction(args.quick),
        "group": lambda: bench_grouping(),
        "scale": lambda: bench_scale(args.quick),
    }
    for name, fn in steps.items():
        if args.only and name != args.only:
            continue
        summary[name] = fn()
    if not args.only:
        _summary(summary)
        _readme(summary)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(OUT) + "\n", encoding="utf-8")
        print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
