"""Families of phrasing added after each fresh batch's misses were studied (issue 12), batch by batch (checks of
other behaviour added after a batch stay in that batch's own file).

Each log is written in the shape a tool prints it, with names and numbers changed from the thread that showed the
gap. ``use_model=False``: these are the rules' answers.
"""

from __future__ import annotations

import pytest

from pipeline_sre.diagnosis import diagnose_lines, learned


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # ---------------- batch 11
        (
            [
                "[ERROR] Failed to execute goal on project etl-core: Could not resolve dependencies for project "
                "org.example:etl-core:jar:2.1.0-SNAPSHOT: The following artifacts could not be resolved: "
                "org.example:shared:jar:2.1.0-SNAPSHOT: Could not find artifact org.example:shared:jar:2.1.0-SNAPSHOT\n"
            ],
            "dependency",
        ),
        (
            [
                "[ERROR] Failed to execute goal on project etl-core: Could not resolve dependencies for project "
                "org.example:etl-core:jar:2.1.0: Could not transfer artifact org.slf4j:slf4j-api:jar:2.0.9 from/to "
                "central (https://repo.maven.apache.org/maven2): Connection reset -> [Help 1]\n"
            ],
            "transient_network",
        ),
        (["Error in library(affy) : there is no package called 'affy'\n"], "dependency"),
        (
            [
                "Failed to process file sample_R2.fastq.gz\n",
                "uk.ac.babraham.FastQC.Sequence.SequenceFormatException: Midline 'AAF' didn't start with '+' at 42\n",
            ],
            "data_quality",
        ),
        (
            [
                "Logging into registry.example.test...\n",
                'Error: Error response from daemon: Get "https://registry.example.test/v2/": denied: denied\n',
            ],
            "credentials",
        ),
        (
            [
                "WARN [Producer clientId=loader] Error while fetching metadata with correlation id 4 : "
                "{events-raw=UNKNOWN_TOPIC_OR_PARTITION}\n"
            ],
            "upstream_missing",
        ),
        (
            [
                "org.apache.spark.SparkException: [FAILED_EXECUTE_UDF] Failed to execute user defined function "
                "(`parse_amount`: (string) => double).\n"
            ],
            "code_bug",
        ),
        (
            [
                '2024-02-01T10:00:01.000Z\tINFO\tcontroller.termination\tcordoned node\t{"node": "ip-10-0-1-7"}\n',
                '2024-02-01T10:00:02.000Z\tINFO\tcontroller.termination\tdeleted node\t{"node": "ip-10-0-1-7"}\n',
            ],
            "killed_external",
        ),
        # ---------------- batch 12
        (
            [
                "2024-03-02 08:10:11.120000: Caught exception RefreshError\n",
                "2024-03-02 08:10:11.120000: This request is being retried\n",
            ],
            "credentials",
        ),
        (
            ["Kafka error: Message consumption error: UnknownTopicOrPartition (Broker: Unknown topic or partition)\n"],
            "upstream_missing",
        ),
        (
            [
                "ERROR: Traceback (most recent call last):\n",
                '  File "/usr/lib/python3.11/gzip.py", line 507, in _read_eof\n',
                "EOFError: Compressed file ended before the end-of-stream marker was reached\n",
            ],
            "data_quality",
        ),
        (["gzip: sample_R1.fastq.gz: unexpected end of file\n"], "data_quality"),
        (
            [
                "MapperParsingException[failed to parse [event_time]]; nested: "
                'IllegalArgumentException[Invalid format: "Mar 02 08:10:11"];\n'
            ],
            "schema_mismatch",
        ),
        (
            [
                "Database Error in model orders_daily (models/marts/orders_daily.sql)\n",
                "  Name order_key not found inside DBT_INTERNAL_DEST at [41:17]\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "$ snakemake --use-conda -n\n",
                "KeyError in line 88 of /work/pipeline/workflow/Snakefile:\n",
                "'sample_pairs'\n",
            ],
            "code_bug",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "load_boxes.py", line 6, in <module>\n',
                "    data = json.load(f)\n",
                "ValueError: Unterminated string starting at: line 1 column 912345 (char 912344)\n",
            ],
            "data_quality",
        ),
        (
            ["fatal: unable to access 'https://git.example.test/etl.git/': The requested URL returned error: 500\n"],
            "transient_network",
        ),
        (
            [
                "Mar 02 08:10:00Z worker-gpu-7 start-worker polling for termination-time\n",
                "Mar 02 08:10:08Z worker-gpu-7 systemd-logind Power key pressed.\n",
            ],
            "killed_external",
        ),
        # ---------------- batch 13
        (
            [
                "<--- Last few GCs --->\n",
                "[3120:0x5c1e0a0]   612004 ms: Mark-sweep (reduce) 4011.2 (4102.5) -> 4010.8 (4103.5) MB, "
                "2210.4 / 0.1 ms  (average mu = 0.051, current mu = 0.002) "
                "allocation failure scavenge might not succeed\n",
            ],
            "oom",
        ),
        (["##[error]Resource not accessible by integration\n"], "permission_denied"),
        (
            [
                "Pulling image ghcr.io/acme/loader:1.4.2\n",
                "Error response from daemon: manifest unknown\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "2024.01.09 10:11:12.000100 [ 4411 ] <Error> executeQuery: Code: 16, e.displayText() = DB::Exception: "
                "There is no column with name total. There are columns: day, region, amount\n"
            ],
            "schema_mismatch",
        ),
        (
            [
                "│ Query schema: [id: STRING NOT NULL, amount: DOUBLE NOT NULL]\n",
                "│ Sink schema:  [key: BYTES, id: STRING, amount: DOUBLE]\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "load.py", line 40, in <module>\n',
                "pyarrow.lib.ArrowInvalid: Could not convert 'n/a' with type str: tried to convert to double\n",
            ],
            "data_quality",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "prep.py", line 12, in <module>\n',
                "pandas._libs.tslibs.np_datetime.OutOfBoundsDatetime: "
                "Out of bounds nanosecond timestamp: 2301-01-01 00:00:00\n",
            ],
            "data_quality",
        ),
        (
            ["ERROR psycopg2.errors.StringDataRightTruncation: value too long for type character varying(12)\n"],
            "data_quality",
        ),
        (["ValueError: Out of range float values are not JSON compliant: nan\n"], "data_quality"),
        (
            [
                "OSError: Parquet magic bytes not found in footer. "
                "Either the file is corrupted or this is not a parquet file.\n"
            ],
            "data_quality",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "/usr/lib/spark/python/pyspark/worker.py", line 98, in main\n',
                "Exception: Python in worker has different version 3.8 than that in driver 3.10, PySpark cannot run "
                "with different minor versions.\n",
            ],
            "dependency",
        ),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "/usr/lib/python2.7/site-packages/airflow/operators/bash_operator.py", line 90, in execute\n',
                "UnicodeDecodeError: 'ascii' codec can't decode byte 0xe2 in position 21: ordinal not in range(128)\n",
            ],
            "code_bug",
        ),
        (
            [
                "No output has been received in the last 10m0s, this potentially indicates a stalled build or "
                "something wrong with the build itself.\n",
                "The build has been terminated\n",
            ],
            "timeout",
        ),
        (
            [
                "ERROR indexer - Failed Message #7, REST response:TOO_MANY_REQUESTS; errorMessage:"
                "EsRejectedExecutionException[rejected execution (queue capacity 50) on bulk shard]\n"
            ],
            "throttled",
        ),
        (
            [
                "[2024-01-09T10:11:12,000][WARN ][o.e.c.r.a.DiskThresholdMonitor] flood stage disk watermark [95%] "
                "exceeded on [node-1][/usr/share/elasticsearch/data] free: 1.1gb[1.2%], all indices on this node will "
                "be marked read-only\n"
            ],
            "resource_exhausted",
        ),
        (
            [
                'ERROR 2024/01/09 10:11:12 Bulk response item: {"status":429,"error":{"type":"cluster_block_exception",'
                '"reason":"index [events] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, '
                'index has read-only-allow-delete block];"}}\n'
            ],
            "resource_exhausted",
        ),
        (
            [
                "[Sarama] 2024/01/09 10:11:12 consumer/broker/3 abandoned subscription to clicks/4 because consuming "
                "was taking too long\n"
            ],
            "kafka_consumer",
        ),
        (
            [
                "Jan 09 10:11:12 host systemd[1]: exporter.service: Watchdog timeout (limit 30s)!\n",
                "Jan 09 10:11:12 host systemd[1]: exporter.service: "
                "Killing process 811 (exporter) with signal SIGABRT.\n",
            ],
            "killed_external",
        ),
        (
            [
                "ERROR ~ Error executing process > 'ALIGN (s1)'\n",
                "Caused by:\n",
                "  Process `ALIGN (s1)` terminated with an error exit status (129)\n",
            ],
            "killed_external",
        ),
        # ---------------- batch 14
        (
            [
                "> Task :spark:compileScala\n",
                "Expiring Daemon because JVM heap space is exhausted\n",
                "Daemon will be stopped at the end of the build after running out of JVM memory\n",
            ],
            "oom",
        ),
        (
            [
                "npm notice Publishing to https://registry.npmjs.org/ with tag latest and default access\n",
                "npm notice Access token expired or revoked. Please try logging in again.\n",
                "npm error code E404\n",
                "npm error 404 Not Found - PUT https://registry.npmjs.org/@acme%2floader - Not found\n",
            ],
            "credentials",
        ),
        (
            [
                'level=error msg="Running error: context loading failed: failed to load packages:\n',
                "  err: exit status 1: stderr: go: go.mod requires go >= 1.24.0 "
                '(running go 1.23.4; GOTOOLCHAIN=local)"\n',
            ],
            "dependency",
        ),
        (
            [
                "Run actions/setup-python@v5\n",
                "  Version 3.6 was not found in the local cache\n",
                "  Error: The version '3.6' with architecture 'arm64' was not found for macOS 14.7.\n",
            ],
            "dependency",
        ),
        (
            [
                'Finished Step #2 - "build-image"\n',
                "ERROR\n",
                'ERROR: build step 2 "gcr.io/kaniko-project/executor:latest" failed: context deadline exceeded\n',
            ],
            "timeout",
        ),
        (
            [
                'TrinoUserError(type=USER_ERROR, name=MERGE_TARGET_ROW_MULTIPLE_MATCHES, message="One MERGE target '
                'table row matched more than one source row", query_id=20240102_101112_00042_abcde)\n'
            ],
            "data_quality",
        ),
        (
            [
                "Jan 03 10:11:12 ..... started mapping\n",
                "ReadAlignChunk_processChunks.cpp:204:processChunks EXITING because of FATAL ERROR in input reads: "
                "unknown file format: the read ID should start with @ or >\n",
            ],
            "data_quality",
        ),
        (
            # a provider plugin's crash, relayed by Terraform at DEBUG level
            [
                "2024-01-03T10:11:12.100Z [DEBUG] plugin.terraform-provider-acme_v2.1.0: "
                "panic: runtime error: invalid memory address or nil pointer dereference\n",
                "2024-01-03T10:11:12.100Z [DEBUG] plugin.terraform-provider-acme_v2.1.0: "
                "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1a2b3c]\n",
                "2024-01-03T10:11:12.101Z [DEBUG] plugin.terraform-provider-acme_v2.1.0: goroutine 88 [running]:\n",
            ],
            "code_bug",
        ),
        # ---------------- batch 15
        (["Not Found\n", "The requested URL was not found on this server.\n"], "upstream_missing"),
        (
            [
                '🦋  info Publishing "acme-cli" at "1.2.0"\n',
                "🦋  error E404 Not Found - PUT https://registry.npmjs.org/acme-cli - Not found\n",
                "🦋  error 'acme-cli@1.2.0' is not in this registry.\n",
            ],
            "credentials",
        ),
        (['Invalid closing quote at line 1042; found "X" instead of delimiter ","\n'], "data_quality"),
        # ---------------- batch 16
        # R's allocator
        (["Error: cannot allocate vector of size 12.5 Gb\n"], "oom"),
        # a build step killed under the builder's memory cap, by the legacy builder and by BuildKit
        (
            [
                "$ webpack --config webpack.prod.config.js\n",
                "The command '/bin/sh -c /opt/app/build.sh' returned a non-zero code: 137\n",
            ],
            "oom",
        ),
        (
            [
                "failed to solve: rpc error: code = Unknown desc = executor failed running [/bin/sh -c pip install -r "
                "requirements.txt]: exit code: 137\n"
            ],
            "oom",
        ),
        # DuckDB reading a Parquet file whose footer was never written
        (["Invalid Input Error: No magic bytes found at end of file 'gs://bucket/tree.parquet'\n"], "data_quality"),
        # dbt's Fusion engine resolved where a Python adapter needs dbt-core 1.x
        (
            ["[error] [InvalidConfig (dbt1005)]: The 'duckdb' adapter is not yet supported by dbt Fusion.\n"],
            "dependency",
        ),
        # golang-migrate giving up on the migration lock, inside a "connecting" message
        (
            [
                "2024/05/24 16:06:09 Fatal error connecting to Postgres DB: Failed to migrate the DB: timeout: "
                "can\u2019t acquire database lock\n"
            ],
            "timeout",
        ),
        # Travis' no-output limit in its older wording
        (
            [
                "No output has been received in the last 10 minutes, this potentially indicates a stalled build or "
                "something wrong with the build itself.\n"
            ],
            "timeout",
        ),
        # a consumer's commit refused for a partition the broker no longer hosts
        (
            [
                "[WARN ][org.apache.kafka.clients.consumer.internals.Fetcher] [Consumer clientId=c-0, groupId=g] "
                "Received unknown topic or partition error in fetch for partition events-0\n",
                "[ERROR][org.apache.kafka.clients.consumer.internals.ConsumerCoordinator] [Consumer clientId=c-0, "
                "groupId=g] Offset commit failed on partition events-0 at offset 1475: This server does not host this "
                "topic-partition.\n",
            ],
            "kafka_consumer",
        ),
        # ---------------- batch 17
        # compilers killed mid-build: cargo's report of rustc, sccache's, and cargo's summary under sccache's line
        (
            [
                "error: could not compile `acme-core` (lib)\n",
                "Caused by:\n",
                "  process didn't exit successfully: `rustc --crate-name acme_core -C codegen-units=16` "
                "(signal: 9, SIGKILL: kill)\n",
            ],
            "oom",
        ),
        (["sccache: Compile terminated by signal 9\n", "error: could not compile `acme-server` (lib test)\n"], "oom"),
        # a release asset that is not there, by curl -f alone and under Homebrew's download error
        (
            [
                "Downloading v1.2.0/tool-linux-x86_64...\n",
                "curl: (22) The requested URL returned error: 404\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "==> Downloading https://github.com/acme/tool/releases/download/v0.0.7/tool-darwin.tgz\n",
                "curl: (22) The requested URL returned error: 404 Not Found\n",
                "Error: An exception occurred within a child process:\n",
                '  DownloadError: Failed to download resource "tool"\n',
            ],
            "upstream_missing",
        ),
        (
            [
                "FAILED tests/test_datasets.py::test_dataset_availability - AssertionError: Datasets not available on "
                "Hugging Face:\n",
                "  acme/sentiment-data - revision 0123abcd\n",
            ],
            "upstream_missing",
        ),
        # alembic while the database lags the migration history
        (
            [
                "ERROR [alembic.util.messaging] Target database is not up to date.\n",
                "  FAILED: Target database is not up to date.\n",
            ],
            "schema_mismatch",
        ),
        # Python's json on documents damaged mid-way
        (
            [
                "Error messages:\n",
                "\tExpecting ',' delimiter\n",
                "\tExpecting property name enclosed in double quotes\n",
            ],
            "data_quality",
        ),
        # R's configure script, Bundler and Composer
        (
            [
                "------------------------- ANTICONF ERROR ---------------------------\n",
                "Configuration failed because libxml-2.0 was not found. Try installing:\n",
                " * deb: libxml2-dev (Debian, Ubuntu, etc)\n",
            ],
            "dependency",
        ),
        (
            [
                "Resolving dependencies...\n",
                'Bundler could not find compatible versions for gem "bundler":\n',
                "  In Gemfile:\n",
                "    bundler (~> 1.13)\n",
            ],
            "dependency",
        ),
        (
            [
                "Your requirements could not be resolved to an installable set of packages.\n",
                "  Problem 1\n",
                "    - Root composer.json requires php ^8.2 but your php version (8.1.33) does not satisfy that "
                "requirement.\n",
            ],
            "dependency",
        ),
        # a self-hosted runner gone mid-job
        (
            [
                "The self-hosted runner: i-0123abcd lost communication with the server. Verify the machine is running "
                "and has a healthy network connection.\n"
            ],
            "killed_external",
        ),
        # a panic that carries the database's refusal
        (
            [
                "thread 'main' panicked at 'called `Result::unwrap()` on an `Err` value: db error: FATAL: sorry, too "
                "many clients already'\n"
            ],
            "resource_exhausted",
        ),
        # ---------------- batch 18
        # a build's download step whose file is gone from the server
        (
            [
                "Downloading http://downloads.example.org/libz-1.2.11.tar.gz\n",
                "Download failed with error 404 for: //downloads.example.org/libz-1.2.11.tar.gz\n",
                "Failed to build package boost\n",
            ],
            "upstream_missing",
        ),
        # Go reading a value it cannot take for a time (MySQL's zero dates)
        (
            [
                "error occurred while reading records: \n",
                "failed to scan record data as map: failed to parse datetime from available formats: parsing time "
                '"0000-00-00 00:00:00": month out of range\n',
            ],
            "data_quality",
        ),
        # a toolchain floor printed just above BuildKit's failure line
        (
            [
                "#12 0.354 go: go.mod requires go >= 1.24.0 (running go 1.23.7; GOTOOLCHAIN=local)\n",
                "------\n",
                'ERROR: failed to solve: process "/bin/sh -c go build -o /out/app" did not complete successfully: '
                "exit code: 1\n",
            ],
            "dependency",
        ),
        # no thread left to create (git's pack writer under a container's process limit), Lambda's concurrency floor
        (["error: writing packfile: -1, unable to create thread\n"], "resource_exhausted"),
        (
            [
                'Initializer Failure: Resource handler returned message: "Specified ReservedConcurrentExecutions for '
                "function decreases account's UnreservedConcurrentExecution below its minimum value of [10]. "
                '(Service: Lambda, Status Code: 400)"\n'
            ],
            "resource_exhausted",
        ),
        # Jenkins builds whose agent's machine was terminated or deleted, beside the channel errors that follow
        (
            [
                "EC2 instance for node fleet-a i-0abc123 was terminated\n",
                'Cannot contact i-0abc123: hudson.remoting.ChannelClosedException: Channel "hudson.remoting.Channel@1:'
                'i-0abc123": Remote call on i-0abc123 failed. The channel is closing down or has closed down\n',
                "Finished: ABORTED\n",
            ],
            "killed_external",
        ),
        (
            [
                "Cannot contact pool-x1: hudson.remoting.RequestAbortedException: java.io.IOException: Unexpected "
                "termination of the channel\n",
                "Agent pool-x1 was deleted; cancelling node body\n",
                "Could not connect to pool-x1 to send interrupt signal to process\n",
                "Agent was removed\n",
            ],
            "killed_external",
        ),
        # ---------------- batch 19
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
        # ---------------- batch 20
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
        # ---------------- batch 21
        # a wildcard query over day-sharded tables when the day's table was never written
        (["BigQuery::Errors::BigQueryError: FROM clause with table wildcards matches no table\n"], "upstream_missing"),
        # Travis' job limit in two of its wordings (one with the service's own typo)
        (
            ["I'm sorry but your test run exceeded 50.0 minutes.\n", "\n", "One possible solution is to split it.\n"],
            "timeout",
        ),
        (["The job exceeded the maxmimum time limit for jobs, and has been terminated.\n"], "timeout"),
        # an input whose records repeat an identifier that must be unique
        (
            [
                "contigs.fa is either empty or contains multiple entries with the same identifier. Please check your "
                "input FASTA file and run the tool again.\n"
            ],
            "data_quality",
        ),
        # ---------------- batch 22
        # an artifact step finding nothing the named run uploaded; a deploy finding no build output
        (["==> (not found) Artifact: nightly-bundle\n", "Error: no artifacts found\n"], "upstream_missing"),
        (
            ['[10:01:02.003] Error: No Output Directory named "build" found after the Build completed.\n'],
            "upstream_missing",
        ),
        # Kubernetes starting a pod whose Secret or ConfigMap was never created
        (['CreateContainerConfigError: secret "warehouse-db-secrets" not found\n'], "upstream_missing"),
        (['Error: configmap "loader-config" not found\n'], "upstream_missing"),
        # a Terraform data source finding no image to start from
        (["* aws_instance.worker: Expected 1 AMI for ID: ami-0abc1234, got none\n"], "upstream_missing"),
        # Elasticsearch: the user authenticated, its roles lack the index privilege
        (
            [
                'error=>{"type"=>"security_exception", "reason"=>"action [indices:data/write/bulk[s]] is unauthorized '
                'for user [writer] with roles [ingest] on indices [events-2024.01.02]"}\n'
            ],
            "permission_denied",
        ),
        # pyarrow unable to merge the schemas of the files it reads
        (['"ArrowInvalid: Can\'t unify schema with duplicate field names"\n'], "schema_mismatch"),
        # Pillow reading an image cut short
        (["OSError: image file is truncated (37 bytes not processed)\n"], "data_quality"),
        # a per-IP request slot of a public API
        (
            [
                "Error: runtime error: open64: 0 Success /osm3s_osm_base Dispatcher_Client::request_read_and_idx::"
                "rate_limited. Another request from your IP is still running.\n"
            ],
            "throttled",
        ),
        # PBS/Torque's wall-time limit
        (["Aborted by PBS Server\n", "Job exceeded its walltime limit. Job was aborted\n"], "timeout"),
        # PostgreSQL's lock table, not the server's memory
        (
            [
                "pg_dump: error: query failed: ERROR:  out of shared memory\n",
                "HINT:  You might need to increase max_locks_per_transaction.\n",
            ],
            "resource_exhausted",
        ),
        # a consumer that could not join its group
        (["Some exception occured while trying to join group billing - System.TimeoutException\n"], "kafka_consumer"),
        # a cast between the code's own classes is the code's fault, a value read as another type the schema's
        (
            [
                "java.lang.ClassCastException: org.example.RecordSchema cannot be cast to java.lang.Class\n",
                "\tat org.example.Converter.convertSchema(Converter.java:24)\n",
            ],
            "code_bug",
        ),
        (
            [
                "java.lang.ClassCastException: java.lang.Integer cannot be cast to java.lang.Long\n",
                "\tat org.apache.spark.sql.catalyst.expressions.BaseGenericInternalRow.getLong(rows.scala:42)\n",
            ],
            "schema_mismatch",
        ),
        # a Celery pool worker SIGKILLed with no time limit in sight: a guess at the OOM killer
        (
            [
                "[2024-01-02 10:00:00,001: ERROR/MainProcess] Process 'ForkPoolWorker-3' pid:91 exited with "
                "'signal 9 (SIGKILL)'\n"
            ],
            "oom",
        ),
        # ---------------- batch 23
        # an FTP mirror without the file asked for
        (
            [
                "[ERROR] urllib failed to download (reason: ftp error: 550 Failed to change directory.): "
                "ftp://ftp.example.org/pub/lib/1.2/lib-1.2.tar.bz2\n"
            ],
            "upstream_missing",
        ),
        # a Kafka record not in Schema Registry's wire format; Kafka Connect's closing line is no external kill
        (
            [
                "Caused by: org.apache.kafka.common.errors.SerializationException: Unknown magic byte!\n",
                "[2024-01-02 10:00:00,001] ERROR Task is being killed and will not recover until manually restarted "
                "(org.apache.kafka.connect.runtime.WorkerTask:142)\n",
            ],
            "data_quality",
        ),
        # R's package installation failing, a Go module's toolchain floor above the Go that runs
        (
            [
                "Error: Failed to install 'somepkg' from GitHub:\n",
                "  (converted from warning) installation of package '/tmp/somepkg_1.0.tar.gz' had non-zero exit "
                "status\n",
            ],
            "dependency",
        ),
        (
            [
                "12.3 go: example.com/plugin@v0.0.0-20240101 requires go >= 1.22.0 (running go 1.21.10; "
                "GOTOOLCHAIN=local)\n",
                "12.3 2024/01/02 10:00:00 [FATAL] exit status 1\n",
            ],
            "dependency",
        ),
        # Google's per-minute quota as gRPC's ResourceExhausted words it: a request rate
        (
            [
                "* rpc error: code = ResourceExhausted desc = Insufficient tokens for quota "
                "'logging.googleapis.com/read_requests' and limit 'ReadRequestsPerMinutePerProject' of service "
                "'logging.googleapis.com'\n"
            ],
            "throttled",
        ),
        # a Terraform provider's wait and Helm's wait on a hook: their own time limits
        (
            ["│ Error: Error creating instance\n", "│ Instance creation waiting: WaitWithContext() has timed out\n"],
            "timeout",
        ),
        (
            ["Error: timeout while waiting for state to become 'AVAILABLE' (last state: 'CREATING', timeout: 20m0s)\n"],
            "timeout",
        ),
        (
            [
                "Error: failed pre-install: resource Job/ns/upgrader not ready. status: InProgress, message: Job in "
                "progress\n",
                "context deadline exceeded\n",
            ],
            "timeout",
        ),
        # ---------------- batch 24
        # an expired token refused as "Access Denied": the credential, not a missing grant
        (
            [
                '  "message": "Access Denied: The Personal Access Token used has expired.",\n',
                '  "typeKey": "AccessCheckException",\n',
            ],
            "credentials",
        ),
        # Databricks refusing a statement the job's code issued
        (
            [
                "[UNSUPPORTED_FEATURE.DESC_JSON_TABLE_TYPE] The feature is not supported: DESCRIBE AS JSON not "
                "supported for table type of [t_events]. Please try again without the AS JSON clause.\n"
            ],
            "code_bug",
        ),
        # ---------------- batch 25
        # Terraform's data source finding nothing to look up; BigQuery's wildcard table as dbt relays it
        (["│ Error: no matching EC2 Subnet found\n", "│   with data.aws_subnet.private,\n"], "upstream_missing"),
        (
            [
                "10:00:01  Database Error in model base_events (models/base_events.sql)\n",
                "  proj-1:analytics_42.events_intraday_* does not match any table.\n",
            ],
            "upstream_missing",
        ),
        # PostgreSQL's superuser-only operations
        (["ERROR: must be superuser to create FOR ALL TABLES publication\n"], "permission_denied"),
        # an expired TLS certificate: renewed, not retried
        (
            ["Unable to connect to the server: x509: certificate has expired or is not yet valid\n"],
            "credentials",
        ),
        # BigQuery's load job refusing a row's bytes or its size
        (
            [
                "google.api_core.exceptions.BadRequest: 400 Error while reading data, error message: Bad character "
                '(ASCII 0) encountered.; line_number: 12 column_index: 1 column_name: "body"\n'
            ],
            "data_quality",
        ),
        (
            [
                'Message: "Error while reading data, error message: Row size is larger than: 104857600. '
                'File: gs://bucket/day/part-0001.jsonl"; Reason: "invalid"\n'
            ],
            "data_quality",
        ),
        # conda's channels without the package; pip's legacy build failure of a dependency
        (
            [
                "PackageNotFoundError: Packages missing in current channels:\n",
                "  - sometool\n",
            ],
            "dependency",
        ),
        (
            [
                'Command "python setup.py egg_info" failed with error code 1 in /tmp/pip-build-x1/scipy/\n',
                "The command '/bin/sh -c pip install scipy' returned a non-zero code: 1\n",
            ],
            "dependency",
        ),
        # a CI host's disk check printed just above the job's failure line
        (
            [
                "  | Not enough inodes free, cutoff is 250000\n",
                "  | Disk health checks failed\n",
                "  | Error: Error setting up bootstrap: The global environment hook exited with status 1\n",
            ],
            "resource_exhausted",
        ),
        # ---------------- batch 26
        # Jenkins' timeout step interrupting the build it wraps
        (
            [
                "[2024-01-09T10:00:01.000Z] Error when executing always post condition:\n",
                "[2024-01-09T10:00:01.000Z] org.jenkinsci.plugins.workflow.steps.FlowInterruptedException\n",
                "[2024-01-09T10:00:01.000Z] \tat org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution.cancel"
                "(TimeoutStepExecution.java:168)\n",
                "[2024-01-09T10:00:01.000Z] \tat java.util.concurrent.FutureTask.run(FutureTask.java:266)\n",
            ],
            "timeout",
        ),
        (["Maximum build time exceeded\n"], "timeout"),
        # a server out of client connections: Redis' maxclients, MySQL's 1040 through Laravel
        (["Redis::CommandError: ERR max number of clients reached\n"], "resource_exhausted"),
        (["SQLSTATE[HY000] [1040] Too many connections (SQL: select * from `jobs`)\n"], "resource_exhausted"),
        # SQLite inserting a column a table created by an older version lacks
        (
            [
                "Aggregator - ERROR - Unsupported query:\n",
                "<class 'sqlite3.OperationalError'>\n",
                "table site_visits has no column named browser_id\n",
            ],
            "schema_mismatch",
        ),
        # Kafka's error code alone, as a client that prints code names relays it
        (["UNKNOWN_TOPIC_OR_PARTITION: this server does not host this topic-partition\n"], "upstream_missing"),
        # GitHub's GraphQL API failing a query on its side
        (
            [
                "GraphqlResponseError: Request failed due to following response errors:\n",
                " - Something went wrong while executing your query on 2024-05-01T10:00:00Z. Please include "
                "`A1:B2:C3` when reporting this issue.\n",
                "    at async GitHub.mergeCommitsGraphQL (build/src/github.js:309:26)\n",
            ],
            "transient_network",
        ),
        # pip's read timeouts before a packaging tool's failure that names the upstream project, not an input
        (
            [
                "WARNING: Retrying (Retry(total=3, connect=None, read=None, redirect=None, status=None)) after "
                "connection broken by 'ReadTimeoutError(\"HTTPSConnectionPool(host='files.pythonhosted.org', "
                "port=443): Read timed out. (read timeout=15)\")': /packages/aa/bb/tool-1.1-py3-none-any.whl\n",
                "packit.exceptions.PackitSRPMException: Preparing of the upstream to the SRPM build failed: Command "
                "'python3 setup.py --version' failed.\n",
            ],
            "transient_network",
        ),
        # ---------------- batch 27
        # client-go's 403 without details: a service account without RBAC on the resource
        (
            [
                'time="2024-02-01T10:00:00Z" level=error msg="Unable to create job" error="the server does not allow '
                'access to the requested resource (post jobs.batch)" jobName=nightly\n'
            ],
            "permission_denied",
        ),
        # Hugging Face datasets' data file gone from its URL
        (["Error: Couldn't find file at https://example.org/data/corpus_v1.zip\n"], "upstream_missing"),
        # Node 17+ under webpack 4's MD4 hashing
        (
            [
                "[10:00:01] Error: error:0308010C:digital envelope routines::unsupported\n",
                "    at new Hash (node:internal/crypto/hash:67:19)\n",
            ],
            "dependency",
        ),
        # Azure Resource Manager refusing a deployment over the regional core quota, in its JSON error body
        (
            [
                '{"code":"InvalidTemplateDeployment","message":"The template deployment is not valid according to the '
                'validation procedure. See inner errors for details.","details":[{"code":"QuotaExceeded","message":'
                '"Operation results in exceeding approved Total Regional Cores quota."}]}\n'
            ],
            "resource_exhausted",
        ),
        # ---------------- batch 28
        # Elasticsearch refusing a document whose object field arrived as something else
        (
            [
                "es01 | org.elasticsearch.index.mapper.MapperParsingException: object mapping for [http] tried to "
                "parse field [http] as object, but got EOF, has a concrete value been provided to it?\n"
            ],
            "schema_mismatch",
        ),
        # Let's Encrypt's weekly limit on certificates for one set of names
        (
            [
                "Error creating new cert :: Too many certificates already issued for exact set of domains: "
                "mail.example.org: see https://letsencrypt.org/docs/rate-limits/\n"
            ],
            "throttled",
        ),
        # a Google API's 403 for its daily request quota
        (
            [
                "[api] (GdataError) : Error 403: The request cannot be completed because you have exceeded your "
                '<a href="/docs#quota">quota</a>.\n'
            ],
            "throttled",
        ),
        # Kafka's ACL refusal as librdkafka words it
        (
            [
                "Error: KafkaError (Message production error: TopicAuthorizationFailed (Broker: Topic authorization "
                'failed)), topic "orders"\n'
            ],
            "permission_denied",
        ),
        # Bazel's per-test limit; the milliseconds of a timestamp above it are no HTTP 401
        (
            [
                "2024-04-16 14:50:01.401 ... >>> assert_no_errors\n",
                "-- Test timed out at 2024-04-16 14:50:03 UTC --\n",
            ],
            "timeout",
        ),
        (["//pipelines/etl:load_test                                           TIMEOUT in 315.1s\n"], "timeout"),
        # an expired database password (Oracle)
        (
            [
                "ERROR [scheduler_Worker-2] [org.quartz.core.ErrorLogger] Job failed Caused by: java.sql.SQLException: "
                "ORA-28001: the password has expired\n"
            ],
            "credentials",
        ),
        # consumers of one group on assignors of different protocol types
        (["%3|1618300000.123|JOINGROUP|rdkafka#consumer-1| Inconsistent group protocol\n"], "kafka_consumer"),
        # Gradle 6 on JDK 17
        (
            [
                "> BUG! exception in phase 'semantic analysis' in source unit '/src/buildSrc/Plugin.groovy' "
                "Unsupported class file major version 61\n"
            ],
            "dependency",
        ),
        # Elasticsearch's flood-stage write block answers 403 FORBIDDEN/12: the disk is full
        (
            [
                "[2024-01-03T00:00:07,707][INFO ][logstash.outputs.elasticsearch] retrying failed action with response "
                'code: 403 ({"type"=>"cluster_block_exception", "reason"=>"blocked by: [FORBIDDEN/12/index read-only / '
                'allow delete (api)];"})\n'
            ],
            "resource_exhausted",
        ),
        # AWS Glue's max concurrent runs
        (
            [
                "{app.py:139} ERROR - An error occurred (ConcurrentRunsExceededException) when calling the StartJobRun "
                "operation: Concurrent runs exceeded for nightly-transform\n"
            ],
            "resource_exhausted",
        ),
        # a managed service's API relaying its backend's timeout
        (
            ["Error: ReadFirewallSettings failed, status: 400, message: map[error:Timeout talking to backend]\n"],
            "transient_network",
        ),
        # alembic: a migration the database was stamped with is gone from the history
        (["ERROR [alembic.util.messaging] Can't locate revision identified by '30acc1daf358'\n"], "code_bug"),
        # a 500 from an importer that names the file's bytes
        (
            [
                "Status: 500 | Internal Server Error\n",
                "Message: Malformed UTF-8 characters, possibly incorrectly encoded (500 Internal Server Error)\n",
            ],
            "data_quality",
        ),
        # ---------------- batch 29
        # dbt without the adapter for the profile's type
        (["22:01:03  Encountered an error:\n", "Could not find adapter type databricks!\n"], "dependency"),
        # setuptools without the wheel package, building an sdist
        (
            [
                "  Building wheel for pyyaml (setup.py): finished with status 'error'\n",
                "  error: invalid command 'bdist_wheel'\n",
            ],
            "dependency",
        ),
        # a native module built on another platform
        (
            [
                "Error: /app/bundle/programs/server/npm/node_modules/bcrypt/lib/binding/bcrypt_lib.node: invalid ELF "
                "header\n",
                "    at Object.Module._extensions..node (internal/modules/cjs/loader.js:1057:18)\n",
            ],
            "dependency",
        ),
        # Nextflow: the pipeline's own completion handler threw
        (["ERROR ~ Failed to invoke `workflow.onComplete` event handler\n"], "code_bug"),
        # ---------------- batch 30
        # `docker events`: the daemon's own oom event for the container
        (
            [
                "$ sudo docker events\n",
                "2015-10-12T21:55:01.000000000Z 19f8f9e8bf72: (from gcr.io/google_containers/heapster:v0.16.1) oom\n",
                "2015-10-12T21:55:01.000000000Z 19f8f9e8bf72: (from gcr.io/google_containers/heapster:v0.16.1) die\n",
            ],
            "oom",
        ),
        # a Dockerfile COPY of a jar the skipped build step never produced
        (
            [
                "Step 3/4 : COPY target/documents-service*.jar documents-service.jar\n",
                "ERROR: Service 'mn-documents-service' failed to build: COPY failed: no source files were specified\n",
            ],
            "upstream_missing",
        ),
        # a table the database lacks: created by an older schema
        (
            [
                "Traceback (most recent call last):\n",
                '  File "feed-bot.py", line 40, in <module>\n',
                '    cu.execute("INSERT INTO feeds (url) VALUES (?)", (u,))\n',
                "sqlite3.OperationalError: no such table: feeds\n",
            ],
            "schema_mismatch",
        ),
        # InfluxDB: a field written as another type than the measurement stores
        (
            [
                'ERROR: write failed: field type conflict: input field "value" on measurement "system_uptime" is type '
                "float64, already exists as type integer\n"
            ],
            "schema_mismatch",
        ),
        # a registry pull without an imagePullSecret
        (
            [
                'Failed to pull image "registry.example.com/enterprise/app:2.11.2": pull access denied, repository '
                "does not exist or may require authorization: authorization failed: no basic auth credentials\n"
            ],
            "credentials",
        ),
        # an empty string in a date field
        (
            [
                'java.text.ParseException: Unparseable date: ""\n',
                "\tat java.text.DateFormat.parse(Unknown Source) ~[?:?]\n",
            ],
            "data_quality",
        ),
        # a shapefile with a self-intersecting ring
        (
            [
                "The provided geometry is invalid. Check to ensure that the geometry is well formed and/or that it is "
                "in 4326 projection.\n"
            ],
            "data_quality",
        ),
        # Helm: a chart template including a named template the chart does not define
        (
            [
                "Error: UPGRADE FAILED: template: airflow/templates/config/configmap.yaml:116:12: executing "
                '"airflow/templates/config/configmap.yaml" at <include "airflow.defaultInitContainers.loadDAGsPlugins" '
                '.>: error calling include: template: no template "airflow.defaultInitContainers.loadDAGsPlugins" '
                'associated with template "gotpl"\n'
            ],
            "code_bug",
        ),
        # Terraform's crash banner, with no error word on any line
        (
            [
                "!!!!!!!!!!!!!!!!!!!!!!!!!!! TERRAFORM CRASH !!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
                "\n",
                "Terraform crashed! This is always indicative of a bug within Terraform.\n",
                'A crash log has been placed at "crash.log" relative to your current\n',
                "working directory. It would be immensely helpful if you could please\n",
                "report the crash with Terraform[1] so that we can fix this.\n",
                "\n",
                "!!!!!!!!!!!!!!!!!!!!!!!!!!! TERRAFORM CRASH !!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
            ],
            "code_bug",
        ),
        # EC2's account limit on spot instances
        (
            [
                "Description:DescriptionPlacing Spot instance request. Status Reason: Max spot instance count "
                "exceeded. Placing Spot instance request failed.\n"
            ],
            "resource_exhausted",
        ),
        # PostgreSQL ending the session from outside (pg_terminate_backend, a server shutdown): SQLSTATE 57P01
        (
            [
                "failed to flush subscriber:flushing ledger: failed to copy ledger entries into database:FATAL: "
                "terminating connection due to administrator command (SQLSTATE 57P01)\n"
            ],
            "killed_external",
        ),
        # ---------------- batch 31
        # Kafka Streams assigning tasks whose source topic was never created
        (
            [
                "Missing source topic  output topic 2   durign assignment. Returning error "
                "INCOMPLETE_SOURCE_TOPIC_METADATA.\n"
            ],
            "upstream_missing",
        ),
        # a CI service that expired the artifacts a build downloads
        (
            [
                "There are no artifacts to show here.\n",
                "After 30 days, all artifacts associated with a build automatically expire. Since this run is over 30 "
                "days old, the artifacts may have been deleted.\n",
            ],
            "upstream_missing",
        ),
        # a workflow token without the permission the call needs, stated above the runner's bare exit code
        (
            [
                "Creating new release v0.2.12\n",
                "HTTP 403: Resource not accessible by integration (https://api.github.com/repos/example/gonit/releases)\n",
                "Error: Process completed with exit code 1.\n",
            ],
            "permission_denied",
        ),
        # pip failing to build a package's extension (Python headers missing)
        (
            [
                "Failed to build crc16 ERROR: ERROR: Failed to build installable wheels for some pyproject.toml based "
                "projects (crc16)\n"
            ],
            "dependency",
        ),
        # ---------------- batch 32
        # a hot standby cancelling pg_dump's query for WAL replay (PostgreSQL's recovery conflict)
        (
            [
                'pg_dump: error: Dumping the contents of table "xx" failed: PQgetResult() failed.\n',
                "pg_dump: error: Error message from server: ERROR:  canceling statement due to conflict with "
                "recovery\n",
                "DETAIL:  User query might have needed to see row versions that must be removed.\n",
                'pg_dumpall: error: pg_dump failed on database "xx", exiting\n',
            ],
            "killed_external",
        ),
        # a Kafka consumer's rebalance callback in a state it did not expect (its state's name is no rate limit)
        (
            [
                "25 Mar 2019 03:37:02.417-0700 [14708] WARN #splapptrc,J[13],P[95],KafkaStream0 "
                "M[CrKafkaConsumerGroupClient.java:com.ibm.streamsx.kafka.clients.consumer.CrKafkaConsumerGroupClient"
                ".onPartitionsAssigned:736]  - onPartitionsAssigned() [POLLING_THROTTLED]: unexpected state for "
                "onPartitionsAssigned()\n"
            ],
            "kafka_consumer",
        ),
        # a push refused by a protected branch's rules
        (
            [
                "remote: error: GH006: Protected branch update failed for refs/heads/release.\n",
                "remote: error: 5 of 5 required status checks are expected. Changes must be made through a pull "
                "request.\n",
                " ! [remote rejected] release -> release (protected branch hook declined)\n",
                "error: failed to push some refs to 'https://github.com/example/repo'\n",
                "Error: Process completed with exit code 1.\n",
            ],
            "permission_denied",
        ),
        # an OAuth refresh refused (the refresh token expired) above the TypeError it led to
        (
            [
                'code=400, reason=, body=b\'{"error":"invalid_grant"}\'\n',
                "Traceback (most recent call last):\n",
                '  File "/home/x/lnetatmo.py", line 192, in renew_token\n',
                "    if self.refreshToken != resp['refresh_token']:\n",
                "TypeError: 'NoneType' object is not subscriptable\n",
            ],
            "credentials",
        ),
        # an ssh server refusing a password login: authentication, not authorization
        (
            [
                "sftp start\n",
                "Warning: Permanently added '**IP**' (ECDSA) to the list of known hosts.\n",
                "root@IP: Permission denied (password).\n",
                "Connection closed\n",
            ],
            "credentials",
        ),
        # Elasticsearch refusing a date its date field cannot read
        (
            [
                "elasticsearch.exceptions.RequestError: \n",
                "TransportError(400,u'MapperParsingException[failed to parse \n",
                " [otherProperties.properties.date]]; nested: \n",
                "MapperParsingException[failed to parse date field [c1992], \n",
                "tried both date format [dateOptionalTime], and timestamp number \n",
            ],
            "data_quality",
        ),
        # Nextflow staging two inputs of one name (samples sharing a name)
        (
            [
                "Error executing process > 'PHOENIX:PHOENIX_EXTERNAL:MULTIQC'\n",
                "\n",
                "Caused by:\n",
                "  Process `PHOENIX:PHOENIX_EXTERNAL:MULTIQC` input file name collision -- There are multiple input "
                "files for each of the following file names: 1326569_2_fastqc.zip, 1326569_1_fastqc.zip\n",
            ],
            "data_quality",
        ),
        # a connector defining one configuration key twice (the key is named after heartbeats)
        (["the config 'heartbeat.action.query' have been defined twice.\n"], "code_bug"),
        # Helm 2.14 parsing a chart that calls a function only later releases have
        (
            [
                "$ helm upgrade --install timescale timescaledb/timescaledb-single --version=0.5.4\n",
                'Error: parse error in "timescaledb-single/templates/statefulset-timescaledb.yaml": template: '
                'timescaledb-single/templates/statefulset-timescaledb.yaml:225: function "concat" not defined\n',
            ],
            "dependency",
        ),
        # a provider's rate limit logged at DEBUG (Terraform with TF_LOG=DEBUG)
        (
            [
                "2022-05-15T13:17:25.065+0200 [DEBUG] provider.terraform-provider-github_v4.24.1: 2022/05/15 13:17:25 "
                "[DEBUG] Rate limit 60 reached, sleeping for 24m33.934955317s (until 2022-05-15 13:41:59.000000851 "
                "+0200 CEST m=+1474.193016208) before retrying\n"
            ],
            "throttled",
        ),
        # ssh-action's remote script outrunning its command timeout
        (
            [
                "err: Already on 'master'\n",
                "2019/09/08 08:54:06 Error: command timeout\n",
                "err: Run Command Timeout!\n",
                "##[error]Docker run failed with exit code 1\n",
            ],
            "timeout",
        ),
        # ---------------- batch 33
        # Snowflake without a warehouse the session's role may use
        (
            [
                "Error calling tool 'FESTIVAL_ANALYST':\n",
                "000606 (57P03): No active warehouse selected in the current session.  Select an active warehouse with "
                "the 'use warehouse' command.\n",
            ],
            "permission_denied",
        ),
        # kubelet's expired client certificate stated above the missing bootstrap file it leads to
        (
            [
                'Jan 25 15:49:46 cp kubelet[963737]: I0125 15:49:46.693263  963737 server.go:825] "Client rotation is '
                'on, will bootstrap in background"\n',
                "Jan 25 15:49:46 cp kubelet[963737]: E0125 15:49:46.694476  963737 bootstrap.go:265] part of the "
                "existing bootstrap client certificate in /etc/kubernetes/kubelet.conf is expired: 2023-11-15 "
                "15:14:17 +0000 UTC\n",
                'Jan 25 15:49:46 cp kubelet[963737]: E0125 15:49:46.694534  963737 run.go:74] "command failed" '
                'err="failed to run Kubelet: unable to load bootstrap kubeconfig: stat '
                '/etc/kubernetes/bootstrap-kubelet.conf: no such file or directory"\n',
            ],
            "credentials",
        ),
        # Elasticsearch refusing a self-intersecting polygon for its geo_shape field
        (
            [
                "elasticsearch.helpers.errors.BulkIndexError: ('3 document(s) failed to index.', [{'update': "
                "{'_index': 'meteocode_geodata_water', \n",
                "'_type':'_doc', '_id': 'fea1-174', 'status': 400, 'error': {'type': 'mapper_parsing_exception', "
                "'reason': '\n",
                "failed to parse field [geometry] of type [geo_shape]', 'caused_by': {'type': "
                "'invalid_shape_exception', \n",
                "'reason': 'Self-intersection at or near point [-67.01987124060403,44.96393040243405,0.0]'}}\n",
            ],
            "data_quality",
        ),
        # apt unable to meet an install's dependencies
        (
            [
                "The following packages have unmet dependencies:\n",
                " build-essential : Depends: libc6-dev but it is not going to be installed or\n",
                "                            libc-dev\n",
                "E: Unable to correct problems, you have held broken packages.\n",
            ],
            "dependency",
        ),
        # BigQuery's daily quota of partition modifications per table
        (
            [
                'Copy {Location: "partition_modifications_per_column_partitioned_table.long"; Message: "Quota '
                "exceeded: Your table exceeded quota for Number of partition modifications to a column partitioned "
                'table. For more information, see https://cloud.google.com/bigquery/troubleshooting-errors"; Reason: '
                '"quotaExceeded"}\n'
            ],
            "throttled",
        ),
        # ---------------- batch 34
        # bash refusing a script's own text: an unclosed test bracket, an unclosed quote (not a dropped connection)
        (["/home/runner/work/_temp/caead89a-f3b1-44e5-bdd3-cd2ff43d26ef.sh: line 8: [: missing `]'\n"], "code_bug"),
        (
            [
                "[pre-job.sh] forjar reinstalled: /home/noah/.cargo/bin/forjar forjar 1.13.1\n",
                "/home/noah/data/actions-runner/pre-job.sh: line 307: unexpected EOF while looking for matching `'''\n",
                "##[error]Process completed with exit code 2.\n",
            ],
            "code_bug",
        ),
        # a CLI called without an argument it requires (argparse's usage error)
        (
            [
                "usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\n",
                "aws: error: the following arguments are required: paths\n",
            ],
            "code_bug",
        ),
        # a server's page for a file it does not have
        (
            [
                "<html><head><title>data file is not present; /common/data/model/com/gfs/prod/gfs.2015071200/"
                'gfs.t00z.pgrbf00.grib2</title></head><body bgcolor="#ffffff"><p align=center>Data file is not '
                "present: /common/data/model/com/gfs/prod/gfs.2015071200/gfs.t00z.pgrbf00.grib2</p></body></html>\n"
            ],
            "upstream_missing",
        ),
        # containerd asking a registry for a tag it does not have (not a DNS failure)
        (
            [
                'Failed to pull image "gcr.io/cloudark-kubeplus/crd-registration-helper:3.2.0":\n',
                'failed to resolve reference "gcr.io/cloudark-kubeplus/crd-registration-helper:3.2.0": not found\n',
            ],
            "upstream_missing",
        ),
        # a called workflow asking for token scopes the caller's GITHUB_TOKEN does not grant
        (
            [
                "The workflow is not valid. .github/workflows/dependabot-auto-merge.yml (Line: 5, Col: 3): Error "
                "calling workflow 'adoptium/.github/.github/workflows/dependabot-auto-merge.yml@main'. The workflow is "
                "requesting 'contents: write, pull-requests: write', but is only allowed 'contents: read, "
                "pull-requests: none'.\n"
            ],
            "permission_denied",
        ),
        # pgBackRest ending on the interrupt it was sent
        (
            [
                "2015-11-11 15:12:21.615 T00   WARN: no prior backup exists, incr backup has been changed to full\n",
                "2015-11-11 15:12:30.104 T00  ERROR: [138]: process terminated on a INT signal\n",
            ],
            "killed_external",
        ),
        # pydantic refusing an API response whose fields were renamed or retyped (not bad values)
        (
            [
                "    self._sync = SyncData.model_validate_json(resp.text)\n",
                "pydantic_core._pydantic_core.ValidationError: 1 validation error for SyncData\n",
                "Profile\n",
                "  Field required [type=missing, input_value={'ciphers': [{'attachment...unofficialServer': True}, "
                "input_type=dict]\n",
                "    For further information visit https://errors.pydantic.dev/2.7/v/missing\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "ValidationError: 1 validation error for Item\n",
                "tags.1\n",
                "  Input should be a valid string [type=string_type, input_value=651, input_type=int]\n",
            ],
            "schema_mismatch",
        ),
        # apt reading a mirror caught mid-sync
        (
            [
                "File has unexpected size (2156007 != 2156089). Mirror sync in progress? [IP: 91.189.91.81 80]\n",
                "Hash Sum mismatch\n",
            ],
            "transient_network",
        ),
        # a YOLO label file naming a class the model was not configured with
        (["Wrong annotation: class_id = 9. But class_id should be [from 0 to 1]\n"], "data_quality"),
        # the host's NVIDIA driver older than the CUDA runtime
        (
            ["CUDA driver version is insufficient for CUDA runtime version at horovod/torch/cuda_util.cc:32\n"],
            "dependency",
        ),
        # the JVM unable to start a thread: the process limit, not the heap
        (["java.lang.OutOfMemoryError: unable to create new native thread\n"], "resource_exhausted"),
        # pyarrow meeting a numpy whose ABI it was not built for (not a column's type)
        (
            [
                "pyarrow.lib.ArrowTypeError: ('Did not pass numpy.dtype object', 'Conversion failed for column "
                "xxxxxxxx with type int64')\n"
            ],
            "dependency",
        ),
        # a load generator out of local ports (connections in TIME_WAIT)
        (["dial tcp 54.85.222.182:443: connect: cannot assign requested address\n"], "resource_exhausted"),
        # Elasticsearch's cluster-wide shard limit answered as a validation failure
        (
            [
                '(status=400): {"type":"validation_exception","reason":"Validation Failed: 1: this action would add '
                "[2] total shards, but this cluster currently has [1000]/[1000]\n",
                'Jan 17 15:54:50 CLAY-MON filebeat[30755]: maximum shards open;"}\n',
            ],
            "resource_exhausted",
        ),
        # PostGIS refusing a polygon whose ring does not close
        (
            [
                'HINT:  "...01616 49.123456, 9.123456 49.123456)," <-- parse error at position 2599 within geometry\n',
                "ERROR (log error enabled): ERROR:  geometry contains non-closed rings\n",
            ],
            "data_quality",
        ),
        # sarama: the group's coordinator moved to another broker
        (["kafka server: Request was for a consumer group that is not coordinated by this broker\n"], "kafka_consumer"),
        # ---------------- batch 35
        # a NaN sent to a service that reads JSON numbers (Socrata)
        (
            ['HTTPError: 400 Client Error: Bad Request. invalid input: 1:271428: Unknown identifier "NaN"\n'],
            "data_quality",
        ),
        # a client's GET of a data file answered 404
        (["Error: GET /changesets/168116026.adiff returned 404\n"], "upstream_missing"),
        # protobuf 5's message classes read by code built for protobuf 3 (not the caller's own bug)
        (
            ["AttributeError: 'google._upb._message.FieldDescriptor' object has no attribute 'label'\n"],
            "dependency",
        ),
        # Lambda's per-region code storage used up by old function versions
        (
            [
                "CREATE_FAILED: HealthCheckLambdaVersionz9IHjgn7hHYx8yggarqcnHf27uKk9Xn2pgzKVTxLw "
                "(AWS::Lambda::Version)\n",
                'Resource handler returned message: "Code storage limit exceeded. (Service: Lambda, Status Code: 400, '
                'Request ID: 5b04b30c-6a3e-4926-ba3a-d36a6b0373bb)" (RequestToken: '
                "18354a6c-981d-a350-41be-d494faa857ab, HandlerErrorCode: GeneralServiceException)\n",
            ],
            "resource_exhausted",
        ),
        # ---------------- batch 36
        # apt: a package pinned to another version of its dependency than the one apt would install (the lines under
        # "The following packages have unmet dependencies:", here without that heading)
        (
            [
                " gpu-runtime2 : Depends: engine-ce (= 5:19.03.1~3-0~ubuntu-bionic) but 5:19.03.2~3-0~ubuntu-bionic is "
                "to be installed or\n",
                "                 engine-ee (= 5:19.03.1~3-0~ubuntu-bionic) but it is not installable\n",
            ],
            "dependency",
        ),
        # a Helm chart whose template renders YAML that does not parse (go-yaml)
        (
            [
                "Error: UPGRADE FAILED: YAML parse error on ingress/templates/deployment.yaml: error converting YAML "
                "to JSON: yaml: line 41: mapping values are not allowed in this context\n"
            ],
            "code_bug",
        ),
        # torch's elastic launcher stopped by a signal from outside (a closed terminal's hang-up)
        (
            [
                '    raise SignalException(f"Process {os.getpid()} got signal: {sigval}", sigval=sigval)\n',
                "torch.distributed.elastic.multiprocessing.api.SignalException: Process 41213 got signal: 1\n",
            ],
            "killed_external",
        ),
        # int() given a field the data left empty
        (
            [
                "Traceback (most recent call last):\n",
                '  File "/opt/feeds/stats.py", line 108, in to_seconds\n',
                "    total += pow(60, i) * int(part)\n",
                "ValueError: invalid literal for int() with base 10: ''\n",
            ],
            "data_quality",
        ),
        # a CI plan's build time limit (AppVeyor), which batch 36's first run read only from a log's last words (the
        # model), lost when ordinary lines follow
        (["Build execution time has reached the maximum allowed time for your plan (60 minutes).\n"], "timeout"),
        # ---------------- batch 37
        # GnuPG refusing to sign a release tag with an expired key
        (
            [
                "Creating release tag\n",
                "error: gpg failed to sign the data:\n",
                "[GNUPG:] KEYEXPIRED 1701234567\n",
                'gpg: skipped "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567": Unusable secret key\n',
                "gpg: signing failed: Unusable secret key\n",
            ],
            "credentials",
        ),
        # the Docker client pulling a tag that was never pushed
        (
            [
                "$ docker pull gcr.io/acme-prod/renderer:v2.4.0\n",
                "Pulling repository gcr.io/acme-prod/renderer\n",
                "Tag v2.4.0 not found in repository gcr.io/acme-prod/renderer\n",
            ],
            "upstream_missing",
        ),
        # dbt reading a saved artifact of another artifact schema version
        (
            [
                "Runtime Error\n",
                ' Expected a schema version of "https://schemas.getdbt.com/dbt/manifest/v11.json" in '
                '/tmp/state/manifest.json, but found "https://schemas.getdbt.com/dbt/manifest/v10.json". Are you '
                "running with a different version of dbt?\n",
            ],
            "schema_mismatch",
        ),
        # PyTorch's warning that the host's NVIDIA driver predates its CUDA
        (
            [
                "/usr/lib/python3.11/site-packages/torch/cuda/__init__.py:128: UserWarning: CUDA initialization: The "
                "NVIDIA driver on your system is too old (found version 11040). Please update your GPU driver.\n"
            ],
            "dependency",
        ),
        # a prebuilt binary needing a newer glibc, the loader quoting the version with plain quotes
        (["render: /lib64/libm.so.6: version 'GLIBC_2.31' not found (required by render)\n"], "dependency"),
        # git's transfer cut short mid-clone (curl error 18, partial file)
        (
            [
                "remote: Compressing objects: 100% (2210/2210), done.\n",
                "error: RPC failed; result=18, HTTP code = 200\n",
            ],
            "transient_network",
        ),
        # ---------------- found later in batch 33's logs (in-sample): wordings the model read from a log's last
        # words, lost when ordinary lines follow
        # GitHub refusing a push that changes a workflow file from an app without the workflows permission
        (
            [
                "[remote rejected] v2.0.30 -> v2.0.30\n",
                "(refusing to allow a GitHub App to create or update workflow\n",
                " `.github/workflows/pr-tests.yaml` without `workflows` permission)\n",
            ],
            "permission_denied",
        ),
        # BigQuery: a query writing rows of other partitions into one partition's decorator
        (["Some rows belong to different partitions rather than destination partition\n"], "code_bug"),
        # df -i showing the root filesystem without a free inode, below the stack of the process that hit it
        (
            [
                "created by github.com/ipfs/go-ipfs/routing/dht.(*IpfsDHT).handleNewStream\n",
                "        /builds/distributions/dists/go-ipfs/gopath/src/github.com/ipfs/go-ipfs/routing/dht/"
                "dht_net.go:21 +0x53\n",
                "$ df -hi\n",
                "Filesystem     Inodes IUsed IFree IUse% Mounted on\n",
                "/dev/vda1        640K  640K     0  100% /\n",
                "udev             123K   285  123K    1% /dev\n",
                "tmpfs            126K   335  125K    1% /run\n",
            ],
            "resource_exhausted",
        ),
        # ---------------- batch 38
        # a deploy asking the registry for a tag whose build never pushed it: the HEAD of its manifest answers 404
        (
            [
                "Deploying Containers...\n",
                "Error:\n",
                'Error: Unable to fetch image "registry.example.com/team/app:latest": failed to resolve image to '
                "digest: HEAD https://registry.example.com/v2/team/app/manifests/latest: unexpected status code 404 "
                "Not Found "
                "(HEAD responses have no body, use GET for details).\n",
            ],
            "upstream_missing",
        ),
        # the same from Azure Resource Manager: the registry's MANIFEST_UNKNOWN inside the deployment's inner errors
        (
            [
                '{"code":"DeploymentFailed","message":"At least one resource deployment operation failed.","details":'
                '[{"code":"WebhookInvalidParameterValue","message":"Invalid value: \\"acr1.azurecr.io/shop/'
                'orders:latest\\": GET https:: MANIFEST_UNKNOWN: manifest tagged by \\"latest\\" is not found; '
                'map[Tag:latest]"}]}\n'
            ],
            "upstream_missing",
        ),
        # SQLite's database file owned by another user than the process (a volume still owned by root)
        (
            [
                "container app-backend is unhealthy\n",
                "sqlite3.OperationalError: attempt to write a readonly database\n",
                '  File "/app/db/migrations.py", line 210, in migrate\n',
                '    cursor.execute("UPDATE schedules SET timeout_seconds = NULL WHERE timeout_seconds = 0")\n',
            ],
            "permission_denied",
        ),
        # PyTorch's loss kernel given a class id outside the configured classes
        (
            [
                "    ret = torch._C._nn.nll_loss2d(input, target, weight, reduction, ignore_index)\n",
                "RuntimeError: cuda runtime error (710) : device-side assert triggered at "
                "/pytorch/aten/src/THCUNN/generic/ClassNLLCriterion.cu:115\n",
            ],
            "data_quality",
        ),
        # a bounding box whose corners are not in order, and YOLO rejecting labels it cannot use
        (
            ["ValueError: x_max is less than or equal to x_min for bbox (0.31, 0.92, 0.31, 0.93, 2).\n"],
            "data_quality",
        ),
        (
            [
                "train: Scanning 'data/labels/train' images and labels...20 found, 0 missing, 0 empty, 20 corrupt\n",
                "train: WARNING: data/images/1.jpg: ignoring corrupt image/label: negative label values [-1]\n",
                "train: WARNING: data/images/2.jpg: ignoring corrupt image/label: negative label values [-1]\n",
            ],
            "data_quality",
        ),
        # Hive's schematool: the metastore database is at an older schema version than the Hive reading it
        (
            [
                "Hive distribution version:       2.3.0\n",
                "Metastore schema version:        2.1.0\n",
                "org.apache.hadoop.hive.metastore.HiveMetaException: Metastore schema version is not compatible. "
                "Hive Version: 2.3.0, Database Schema Version: 2.1.0\n",
                "*** schemaTool failed ***\n",
            ],
            "schema_mismatch",
        ),
        # protobuf 4 importing a _pb2 module generated for protobuf 3
        (
            [
                "Traceback (most recent call last):\n",
                '  File "app/proto/events_pb2.py", line 33, in <module>\n',
                "    _descriptor.EnumValueDescriptor(\n",
                "TypeError: Descriptors cannot not be created directly.\n",
            ],
            "dependency",
        ),
        # an HTTP/2 stream the module proxy reset mid-download
        (
            [
                "go: downloading example.com/lib v0.8.1\n",
                "proxy.golang.org/.../lib@v0.8.1: stream error; INTERNAL_ERROR; received from peer\n",
            ],
            "transient_network",
        ),
        # a Kubernetes Job (a Helm hook) reaching its own activeDeadlineSeconds, and Helm's own --timeout on a hook
        (
            [
                "Error: failed pre-install: 1 error occurred:\n",
                "\t* job shop-migrate failed: DeadlineExceeded\n",
            ],
            "timeout",
        ),
        (
            [
                'level=WARN msg="upgrade failed" error="pre-upgrade hooks failed: resource Job/shop/migrate not '
                'ready. status: InProgress, message: Job in progress\\ncontext deadline exceeded"\n',
                "Error: UPGRADE FAILED: release shop failed, and has been rolled back due to rollback-on-failure being "
                "set: pre-upgrade hooks failed: resource Job/shop/migrate not ready.\n",
            ],
            "timeout",
        ),
        # MySQL's 1317: a statement stopped by another session's KILL QUERY or the server
        (
            [
                "Error: SQLSTATE[70100]: <<Unknown error>>: 1317 Query execution was interrupted in Collection.php, "
                "line 130\n"
            ],
            "killed_external",
        ),
        # Confluent REST Proxy: the consumer instance was removed after idling past consumer.instance.timeout.ms
        (
            [
                "curl -X GET -H 'Accept: application/vnd.kafka.json.v2+json' "
                "http://proxy:8082/consumers/g1/instances/i1/records\n",
                '{"error_code":40403,"message":"Consumer instance not found."}\n',
            ],
            "kafka_consumer",
        ),
        # ---------------- batch 39
        # GnuTLS refusing a client's expired certificate at the handshake (taskwarrior's sync)
        (
            [
                "Handshake failed.  Error in the certificate.\n",
                "Sync failed.  Could not connect to the Taskserver.\n",
            ],
            "credentials",
        ),
        # pip refusing to install into a Python that PEP 668 marks as the OS's
        (
            [
                "pip install jinja2\n",
                "error: externally-managed-environment\n",
                "\n",
                "× This environment is externally managed\n",
            ],
            "dependency",
        ),
        # node-gyp with no Python to build a native module with
        (
            [
                "npm ERR! gyp info using node-gyp@10.0.1\n",
                "npm ERR! gyp ERR! find Python Python is not set from command line or npm configuration\n",
                'npm ERR! gyp ERR! find Python - "python3" is not in PATH or produced an error\n',
                "npm ERR! gyp ERR! find Python You need to install the latest version of Python.\n",
            ],
            "dependency",
        ),
        # a GraphQL API whose schema no longer has the fields a client asks for
        (
            ['Cannot query field "milestone" on type "Project".\n', 'Cannot query field "owner" on type "Project".\n'],
            "schema_mismatch",
        ),
        # polars unable to read a value of a numeric column (a leading space)
        (["exceptions.ComputeError: Could not parse  77516 as dtype Int64 at column 3.\n"], "data_quality"),
        # expat meeting a byte an XML document may not hold: no token of ours
        (
            [
                "not well-formed (invalid token) at line 194, column 199, byte 28234 at "
                "/usr/lib/perl5/XML/Parser.pm line 187\n"
            ],
            "data_quality",
        ),
        # ---------------- batch 40
        # Snowflake's connector asking for a role the CI user is no longer granted (SQLSTATE 08001, "Failed to connect")
        (
            [
                "E       snowflake.connector.errors.DatabaseError: 250001 (08001): None: Failed to connect to DB: "
                "acct.us-east-1.snowflakecomputing.com:443. Role 'TRANSFORMER' specified in the connect string is not "
                "granted to this user. Contact your local system administrator, or attempt to login with another role, "
                "e.g. PUBLIC.\n"
            ],
            "permission_denied",
        ),
        # apt asked for a package the base image's newer Debian no longer ships
        (
            [
                "#14 5.173 E: Unable to locate package libssl1.1\n",
                "#14 5.173 E: Couldn't find any package by glob 'libssl1.1'\n",
                '#14 ERROR: process "/bin/sh -c apt-get install -y libssl1.1" did not complete successfully: '
                "exit code: 100\n",
            ],
            "dependency",
        ),
        # ArcGIS' answer for an item the portal no longer holds, as a harvester printed it (a JSON body and a period)
        (
            [
                '{"status":"Failed","error":{"message":"Failed while trying to get item information","code":400,'
                '"response":"Item does not exist or is inaccessible."}}.\n'
            ],
            "upstream_missing",
        ),
        # ---------------- batch 41
        # AzCopy 10 for a service principal without a Storage Blob Data role: "Authentication failed" and the code
        (
            [
                "RESPONSE Status: 403 This request is not authorized to perform this operation using this "
                "permission.\n",
                "failed to perform copy command due to error: Authentication failed, it is either not correct, or "
                "expired, or does not have the correct permission (ServiceCode=AuthorizationPermissionMismatch)\n",
            ],
            "permission_denied",
        ),
        # a Jenkins step waiting on an OpenShift build past the step's own limit
        (
            [
                'ERROR: Exiting "Trigger OpenShift Build" unsuccessfully; build "etl-build-7" did not complete '
                'successfully within the configured timeout of "600000" ms; last reported status: [Running].\n'
            ],
            "timeout",
        ),
        # Elasticsearch's REST client past its own socket timeout (30 s by default), raised in the fix
        (
            [
                "org.elasticsearch.ElasticsearchException: java.util.concurrent.ExecutionException: "
                "java.net.SocketTimeoutException: 30,000 milliseconds timeout on connection http-outgoing-12 "
                "[ACTIVE]\n",
                "Caused by: java.net.SocketTimeoutException: 30,000 milliseconds timeout on connection "
                "http-outgoing-12 [ACTIVE]\n",
                "\tat org.apache.http.nio.protocol.HttpAsyncRequestExecutor.timeout("
                "HttpAsyncRequestExecutor.java:387)\n",
            ],
            "timeout",
        ),
        # Weights & Biases in a non-interactive run with no key
        (["wandb: ERROR api_key not configured (no-tty). call wandb.login(key=[your_api_key])\n"], "credentials"),
        # a Rust worker unwrapping the storage layer's io::ErrorKind::StorageFull
        (
            [
                "thread 'dbsp-worker-2' panicked at crates/dbsp/src/storage/file/writer.rs:311:42:\n",
                "called `Result::unwrap()` on an `Err` value: StdIo(StorageFull)\n",
            ],
            "resource_exhausted",
        ),
        # YOLO's label checks on an annotation whose class id is out of range
        (
            ["AssertionError: Label class 7 exceeds nc=7 in data/coco-small.yaml. Possible class labels are 0-6\n"],
            "data_quality",
        ),
        (["AssertionError: class id must be less than num_classes\n"], "data_quality"),
        # static site generators refusing a page's front-matter date
        (
            [
                'Error: Error building site: "/src/content/talks/2019/etl.md:4:1": invalid front matter: date: '
                "2019-08-18 10:00 ~ 10:40\n"
            ],
            "data_quality",
        ),
        (
            ["The file `_posts/2020-01-02-launch.markdown` does not have a valid date in the YAML front matter.\n"],
            "data_quality",
        ),
        # sbt resolving an artifact whose download broke off
        (
            [
                "[error] (*:update) sbt.ResolveException: download failed: "
                "org.scala-lang#scala-library;2.11.8!scala-library.jar\n"
            ],
            "transient_network",
        ),
        # an amd64 binary in an image started on an arm node
        (["exec /usr/local/bin/reloader: exec format error\n"], "dependency"),
        # TensorFlow's InternalError for a host driver older than its CUDA runtime
        (
            [
                "tensorflow.python.framework.errors_impl.InternalError: cudaGetDevice() failed. Status: CUDA driver "
                "version is insufficient for CUDA runtime version\n"
            ],
            "dependency",
        ),
        # Buildkite refusing a pipeline definition that uses one step key twice
        (
            [
                'fatal: Failed to upload and process pipeline: Pipeline upload rejected: The key "deploy" has already '
                "been used by another step in this build\n"
            ],
            "code_bug",
        ),
        # spark-submit given a JAR with no main class in its manifest and no --class
        (
            [
                "Error: Cannot load main class from JAR s3://bucket/jobs/etl.jar with URI s3. Please specify a class "
                "through --class.\n"
            ],
            "code_bug",
        ),
        # ---------------- batch 42
        # a dated input that was deleted or never delivered
        (["RuntimeError: missing a data folder with submission date 20240301\n"], "upstream_missing"),
        (["+ echo 'Warning:  No NAM or HRRR grib2 data available for 20240929'\n"], "upstream_missing"),
        # Windows refusing to load a build output an antivirus quarantined
        (
            [
                "System.BadImageFormatException : Operation did not complete successfully because the file contains a "
                "virus or potentially unwanted software. (0x800700E1)\n"
            ],
            "killed_external",
        ),
        # an Azure shared access signature past its expiry, answered "Access Denied"
        (
            [
                "Access Denied: AuthenticationErrorDetail: Signature not valid in the specified time frame: Start "
                "[Mon, 06 May 2024 08:00:00 GMT] - Expiry [Tue, 07 May 2024 08:00:00 GMT] - Current [Wed, 08 May 2024 "
                "01:00:00 GMT]\n"
            ],
            "credentials",
        ),
        # a bibliography entry that does not parse
        (
            [
                'ERROR - BibTeX subsystem: /tmp/build/papers-2021.bib, line 88, syntax error: found "url", expected '
                'end of entry ("}" or ")") (skipping to next "@")\n'
            ],
            "data_quality",
        ),
        # MySQL's client error 2003: no answer from the server's host
        (
            [
                "mysql.connector.errors.DatabaseError: 2003 (HY000): Can't connect to MySQL server on "
                "'db.example.internal:3306' (110)\n"
            ],
            "transient_network",
        ),
        # a pod evicted for a container past its own ephemeral-storage limit
        (
            [
                "Status:           Failed\n",
                "Reason:           Evicted\n",
                'Message:          Container sidecar exceeded its local ephemeral storage limit "50Mi".\n',
            ],
            "resource_exhausted",
        ),
        # ---------------- batch 43
        # pip failing to build a package from source (an image without the build's tools)
        (
            [
                "Collecting pyzmq==19.0.2\n",
                "  Downloading pyzmq-19.0.2.tar.gz (1.1 MB)\n",
                "    ERROR: Command errored out with exit status 1:\n",
            ],
            "dependency",
        ),
        # a pip older than the resolver option a build file asks for
        (["ERROR: option --use-feature: invalid choice: '2020-resolver' (choose from )\n"], "dependency"),
        # MySQL's zero date read into a timestamp column
        (
            [
                "Failed to get a row value for MYSQL_TYPE_DATETIME: Couldn't convert the value "
                "`Date(\"'0000-00-00 00:00:00'\")` to a desired type.\n"
            ],
            "data_quality",
        ),
        # ---------------- batch 44
        # git fetching a pull request's merge ref, or a branch, deleted before the build ran
        (
            [
                "$ git fetch origin +refs/pull/41/merge:\n",
                "fatal: Couldn't find remote ref refs/pull/41/merge\n",
                'The command "git fetch origin +refs/pull/41/merge:" failed and exited with 128 during .\n',
            ],
            "upstream_missing",
        ),
        (["09:12:40  fatal: Couldn't find remote ref feature-cleanup\n"], "upstream_missing"),
        # a training job pointed at a model directory that holds no checkpoint
        (["Value error: No checkpoints found in the model directory: gs://example-models/base/\n"], "upstream_missing"),
        # an install script's download of a release asset that was never published, under curl's exit 56
        (
            [
                "Downloading example CLI...\n",
                "curl: (56) The requested URL returned error: 404\n",
                'error: Failed to download example CLI from "https://example.test/releases/download/v1.2.0/cli.zip"\n',
            ],
            "upstream_missing",
        ),
        # Terraform's azurerm provider with no Azure CLI login to use
        (
            [
                "Error: Error building AzureRM Client: * provider.azurerm: Azure CLI Authorization Profile was not "
                "found. "
                "Please ensure the Azure CLI is installed and then log-in with `az login`.\n"
            ],
            "credentials",
        ),
        # a loader naming the columns it expected
        (
            [
                "KeyError: 'Expected columns were not included in the raw data with date, region, cases. "
                "Date must be included.'\n"
            ],
            "schema_mismatch",
        ),
        # a scraper whose page no longer has the element it looks for
        (
            [
                "Traceback (most recent call last):\n",
                '  File "scrape.py", line 31, in <module>\n',
                "    for row in table.find_all('tr')[1:]:\n",
                "AttributeError: 'NoneType' object has no attribute 'find_all'\n",
            ],
            "schema_mismatch",
        ),
        # GitHub Actions giving up on an action's archive during an incident
        (
            [
                "Download action repository 'actions/setup-python@v5' (SHA:0a5c61591373683505ea898e09a3ea4f39ef2b9c)\n",
                "Error: Failed to download archive 'https://codeload.github.com/actions/setup-python/tar.gz/0a5c615' "
                "after 1 attempts.\n",
            ],
            "transient_network",
        ),
        # Terraform's provider install answered by a gateway error
        (
            [
                "│ Error: Failed to install provider\n",
                "│ \n",
                "│ Error while installing example/widgets v2.0.1: could not query provider registry: the request\n",
                "│ failed after 2 attempts, please try again later: 502 Bad Gateway returned from github.com\n",
            ],
            "transient_network",
        ),
        # Google Apps Script's daily quota of calls to a service
        (['Exception: Service invoked too many times for one day: urlfetch. (line 88, file "Code")\n'], "throttled"),
        # Vercel's function stopped at its maximum duration
        (
            ["An error occurred with your deployment FUNCTION_INVOCATION_TIMEOUT iad1::abcd1-1700000000000-0f1e2d\n"],
            "timeout",
        ),
        # BigQuery's shuffle capacity, etcd's backend quota, subnets with no free address
        (
            [
                "BigQuery error in query operation: Resources exceeded during query execution: Your project or "
                "organization exceeded the maximum disk and memory limit available for shuffle operations.\n"
            ],
            "resource_exhausted",
        ),
        (
            ['{"level":"fatal","msg":"error starting store","error":"etcdserver: mvcc: database space exceeded"}\n'],
            "resource_exhausted",
        ),
        (
            [
                "Error: updating EKS Cluster (prod-a) VPC config: InvalidRequestException: Provided subnets "
                "subnet-0123 Free IPs: 0 subnet-4567 Free IPs: 0 , need at least 5 IPs in each subnet to be free\n"
            ],
            "resource_exhausted",
        ),
        # Doris' routine load finding its saved offset past the partition's latest
        (
            [
                "2024-05-02 10:00:01,002 WARN (Routine load task scheduler|50) "
                "[KafkaRoutineLoadJob.hasMoreDataToConsume():792] Kafka offset fallback. partition: 0, "
                "cache offset: 9 get latest offset: 2, job 1201\n"
            ],
            "kafka_consumer",
        ),
        # Oracle's unique constraint, coordinates out of range, a feed's XML with a control character
        (
            [
                "An error occurred while processing this page!\n",
                "[Oracle JDBC Driver][Oracle]ORA-00001: unique constraint (APP.PK_ORDER_ITEM) violated\n",
            ],
            "data_quality",
        ),
        (
            [
                "2020-01-01 10:00:00,001 [main] WARN  org.example.Importer - found invalid locations [200.5,-70.1] "
                "on line [101]: found invalid longitude [200.5]\n"
            ],
            "data_quality",
        ),
        (['failed to parse feed: "XML syntax error on line 812: illegal character code U+001B"\n'], "data_quality"),
        # ---------------- batch 45
        (
            [
                "error: Server does not allow request for unadvertised object "
                "1f0c9d2e7a3b4c5d6e7f8091a2b3c4d5e6f70812\n",
                "Fetched in submodule path 'themes/paper', but it did not contain "
                "1f0c9d2e7a3b4c5d6e7f8091a2b3c4d5e6f70812. Direct fetching of that commit failed.\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "2024-03-02 08:10:00 ERROR (SyncWorker_3) [custom_components.energy.sensor] unable to convert "
                "unavailable to float.\n",
                "2024-03-02 08:10:00 ERROR (SyncWorker_3) [custom_components.energy.sensor] unable to convert to "
                "float.\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "Invalid regular expression: invalid group specifier name\n",
                "parseModule@[native code]\n",
            ],
            "code_bug",
        ),
        # ---------------- batch 46
        (
            [
                "2023-04-02T10:11:12+00:00 heroku[web.1]: Process running mem=1141M(222.9%)\n",
                "2023-04-02T10:11:12+00:00 heroku[web.1]: Error R15 (Memory quota vastly exceeded)\n",
                "2023-04-02T10:11:12+00:00 heroku[web.1]: Stopping process with SIGKILL\n",
            ],
            "oom",
        ),
        (
            [
                'time="2025-06-13T18:12:04Z" level=error msg="Too many failed attempts at processing Kafka message: '
                'orders/0/12024 [key=k1]. Error: context canceled." component="kafka (pubsub.kafka/v1)"\n'
            ],
            "kafka_consumer",
        ),
        (
            [
                "2021-11-04 11:32:01 [ERROR] OCI ERROR: [ORA-00942: table or view does not exist]\n",
                "2021-11-04 11:32:01 [ERROR] HINT: run: GRANT SELECT, FLASHBACK ON SYS.USER$ TO replicator;\n",
            ],
            "permission_denied",
        ),
        (
            [
                "System.Data.SqlClient.SqlException (0x80131904): Timeout expired.  The timeout period elapsed prior "
                "to completion of the operation or the server is not responding.\n"
            ],
            "timeout",
        ),
        (
            [
                "Call execution failed after 30.443 seconds\n",
                "Reason:\n",
                "    conn.QueryContext: ORA-01013: user requested cancel of current operation\n",
            ],
            "timeout",
        ),
        (["[2019-05-02 10:00:01 +0000] [12] [CRITICAL] WORKER TIMEOUT (pid:1716)\n"], "timeout"),
        (
            [
                "Error: Error creating Instance: googleapi: Error 429: Quota limit "
                "'StandardInstancesPerProjectPerRegion' has been exceeded. Limit: 0 in region us-central1.\n"
            ],
            "resource_exhausted",
        ),
        (
            [
                "failed to create network tests_default: Error response from daemon: all predefined address pools "
                "have been fully subnetted\n"
            ],
            "resource_exhausted",
        ),
        (["scripts/envvars.sh: line 2: $'\\r': command not found\n"], "code_bug"),
        (
            [
                "[15:35:57] Explicit valence for atom # 1 N, 6, is greater than permitted\n",
                "Problem processing SMILES=O=[N](=O)=\n",
            ],
            "data_quality",
        ),
        (
            [
                '      "cause": {"type": "mapper_parsing_exception", "reason": "failed to parse [event.date]",\n',
                '        "caused_by": {"type": "illegal_argument_exception", "reason": "Invalid format: \\"\\""}}\n',
            ],
            "data_quality",
        ),
        (
            [
                "F1127 13:49:06.743296 17418 hl_cuda_device.cc:565] Check failed: cudaSuccess == cudaStat (0 vs. 35) "
                "Cuda Error: CUDA driver version is insufficient for CUDA runtime version\n"
            ],
            "dependency",
        ),
        (
            [
                "sqlalchemy.exc.ArgumentError: Column expression, FROM clause, or other columns clause element "
                "expected, got [Column('run_body', Text(), table=<runs>)]. Did you mean to say "
                "select(Column('run_body', Text(), table=<runs>))\n"
            ],
            "dependency",
        ),
        (
            [
                "Run actions/deploy-pages@v1\n",
                "  with:\n",
                "    timeout: 600000\n",
                "    error_count: 10\n",
                "Error: Error: No uploaded artifact was found! Please check if there are any errors at build step.\n",
            ],
            "upstream_missing",
        ),
        # ---------------- batch 47
        (
            [
                "The message received from the daemon indicates that the daemon has disappeared.\n",
                "Build request sent: Build{id=0b1c, currentDir=/home/ci/project}\n",
                "Attempting to read last messages from the daemon log...\n",
            ],
            "oom",
        ),
        (
            [
                "b2sdk.exception.InvalidAuthToken: Invalid authorization token. Server said:  (bad_auth_token)\n",
                "ERROR: unable to authorize account: Invalid authorization token. Server said:  (bad_auth_token)\n",
            ],
            "credentials",
        ),
        (
            [
                "DBD::Pg::db do failed: ERROR:  geometry requires more points\n",
                'HINT:  "POLYGON ((12.5 41.9))" <-- parse error at position 27 within geometry\n',
            ],
            "data_quality",
        ),
        (
            [
                "CreateCondaEnvironmentException:\n",
                "Your conda installation is not configured to use strict channel priorities.\n",
            ],
            "dependency",
        ),
        (
            [
                "checking GDAL: checking whether PROJ.4 is available fur running:... ERROR 6: Unable to load PROJ.4 "
                "library (libproj.so.12), creation of OGRCoordinateTransformation failed.\n",
                "configure: error: OGRCoordinateTransformation() does not return a coord.trans: PROJ.4 not "
                "available?\n",
                "ERROR: configuration failed for package 'sf'\n",
            ],
            "dependency",
        ),
        (
            [
                "Error in curl::curl_fetch_memory(url, handle = handle): Timeout was \n",
                "  reached: Resolving timed out after 10000 milliseconds\n",
            ],
            "transient_network",
        ),
        (
            [
                "Database Error in model daily_errors (models/daily_errors.sql)\n",
                "  Cannot query over table 'proj.external.validations' without a filter over column(s) 'dt', 'hour' "
                "that can be used for partition elimination\n",
            ],
            "code_bug",
        ),
        # ---------------- batch 48
        (
            ["DownloadError: Failed to get url https://example.org/data/devkit.tgz. HTTP code: 404.\n"],
            "upstream_missing",
        ),
        (
            [
                "Command error:\n",
                "  2025-03-02T10:01:12 fasterq-dump.3.0.8 err: name not found while resolving query within virtual "
                "file system module - failed to resolve accession 'SRR0000001' - no data ( 404 )\n",
                "  fasterq-dump quit with error code 3\n",
            ],
            "upstream_missing",
        ),
        (["unauthorized for user [ingest_internal] with roles [ingest_writer] on indices\n"], "permission_denied"),
        (
            [
                "Host key verification failed.\n",
                "rsync: connection unexpectedly closed (0 bytes received so far) [Receiver]\n",
                "rsync error: unexplained error (code 255) at io.c(228) [Receiver=3.2.3]\n",
            ],
            "credentials",
        ),
        (
            [
                "Cloning into 'project-7'...\n",
                "fatal: unable to access 'https://git.example.com/etl/jobs.git/': SSL certificate problem: self signed "
                "certificate\n",
                "/tmp/executor-1: line 7: cd: /home/runner/builds/project-7: No such file or directory\n",
            ],
            "credentials",
        ),
        (
            [
                "12:23:26  Compilation Error in model fct_queries (models/fct_queries.sql)\n",
                "12:23:26    The source and target schemas on this incremental model are out of sync!\n",
                "12:23:26    They can be reconciled in several ways:\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "thread 'main' panicked at 'called `Result::unwrap()` on an `Err` value: WireError(\"unexpected wire "
                "type WireTypeFixed32\")', src/main.rs:40\n"
            ],
            "schema_mismatch",
        ),
        (["RuntimeError: CUDA error: device-side assert triggered\n"], "data_quality"),
        (
            [
                "shapely.errors.TopologicalError: This operation could not be performed. Reason: unknown\n",
            ],
            "data_quality",
        ),
        (["telethon.errors.rpcerrorlist.FloodWaitError: A wait of 738 seconds is required\n"], "throttled"),
        (
            [
                "ERROR | get_tg_webdata | Telegram says: [420 FLOOD_WAIT_X] - A wait of 211 seconds is required "
                '(caused by "contacts.ResolveUsername")\n'
            ],
            "throttled",
        ),
        (
            [
                "Error in get(name, envir = asNamespace(pkg), inherits = FALSE) : \n",
                "  object 'build_Anno' not found\n",
            ],
            "dependency",
        ),
        (
            [
                "Caused by: java.lang.RuntimeException: java.lang.UnsatisfiedLinkError: org.apache.hadoop.io.nativeio."
                "NativeIO$POSIX.stat(Ljava/lang/String;)Lorg/apache/hadoop/io/nativeio/NativeIO$POSIX$Stat;\n"
            ],
            "dependency",
        ),
        (
            [
                "sudo docker pull drydock/u14nodall:prod\n",
                "Pulling repository docker.io/drydock/u14nodall\n",
                "Could not reach any registry endpoint\n",
            ],
            "transient_network",
        ),
        (
            [
                "('IMC06', '[IMC06] [Microsoft][ODBC Driver 18 for SQL Server]The connection is broken and recovery is "
                "not possible. The connection is marked by the client driver as unrecoverable. (0) (SQLExecDirectW)')\n"
            ],
            "transient_network",
        ),
        (["ERROR 1114 (HY000) at line 8834: The table 'orders' is full\n"], "resource_exhausted"),
        (
            [
                "Fatal error: Uncaught ImfsException: [0]: Temporary file write failure in ALTER TABLE wp_postmeta ADD "
                "UNIQUE KEY meta_id (meta_id)\n"
            ],
            "resource_exhausted",
        ),
        (["cron[3214]: Error: bad username; while reading /etc/cron.d/backup\n"], "code_bug"),
        (["PM2 App [etl] with id [1] and pid [43887], exited with code [0] via signal [SIGINT]\n"], "killed_external"),
        # ---------------- batch 49
        (
            [
                "2024-11-09 07:51:31: [Inotify] Failed to install inotify handler for Photos. Please increase inotify "
                "limits, see http://bit.ly/1PxkdUC for more information\n"
            ],
            "resource_exhausted",
        ),
        # ---------------- batch 50
        (
            [
                "FATAL  [circuit_breaking_exception] [parent]\n",
                "Data too large, data for [<http_request>] would be [1017560880/970.4mb],\n",
                "which is larger than the limit of [986061209/940.3mb],\n",
            ],
            "oom",
        ),
        (
            [
                "elasticsearch.exceptions.TransportError: TransportError(429, 'circuit_breaking_exception', '[parent] "
                "Data too large, data for [<http_request>] would be [2049371648/1.9gb], which is larger than the limit "
                "of [2040109465/1.8gb]')\n"
            ],
            "oom",
        ),
        (
            [
                "Downloading artifact 'dist' to: '/home/runner/work/site/site/build'\n",
                '##[error]An Artifact with name "dist" was not found.\n',
            ],
            "upstream_missing",
        ),
        (
            [
                "java.io.IOException: Received error packet: errno = 1236, sqlstate = HY000 errmsg = Could not find "
                "first log file name in binary log index file\n"
            ],
            "upstream_missing",
        ),
        (
            [
                "pg_probackup: unexpected termination of replication stream: ERROR:  requested WAL segment "
                "0000000100000A1200000044 has already been removed\n"
            ],
            "upstream_missing",
        ),
        (
            [
                "org.springframework.data.mongodb.UncategorizedMongoDbException: Command failed with error 286 "
                "(ChangeStreamHistoryLost): 'Resume of change stream was not possible, as the resume point may no "
                "longer be in the oplog.' on server mongo-0:27017.\n"
            ],
            "upstream_missing",
        ),
        (
            [
                "svn export failed with output:  and errput svn: E170000: URL "
                "'https://svn.example.org/trunk/inputdata/atm/ozone_1850-2015_c230501.nc' doesn't exist\n"
            ],
            "upstream_missing",
        ),
        (['Exception in thread "main" com.jcraft.jsch.JSchException: Auth fail\n'], "credentials"),
        (["json: cannot unmarshal number 9842555962 into Go value of type int\n"], "schema_mismatch"),
        (
            [
                "$ conda env create -f env.yml\n",
                "Collecting package metadata (repodata.json): done\n",
                "Solving environment: failed\n",
                "\n",
                "ResolvePackageNotFound:\n",
                "  - joblib=0.9.4\n",
            ],
            "dependency",
        ),
        (
            [
                "error: failed to parse manifest at `/home/ci/.cargo/registry/src/index/cargo-about-0.4.1/Cargo.toml`"
                "\n",
                "\n",
                "Caused by:\n",
                "  feature `edition2021` is required\n",
            ],
            "dependency",
        ),
        (
            [
                "Pipeline ml/deploy can't be Run; it contains Tasks that don't exist: Couldn't retrieve Task "
                '"teardown": etcdserver: leader changed\n'
            ],
            "transient_network",
        ),
        (
            [
                "[WARNING]: - geerlingguy.java was NOT installed successfully: Failed to get data from the API server "
                "(https://galaxy.ansible.com/api/): The read operation timed out\n"
            ],
            "transient_network",
        ),
        (["test_seek_read (test.test_largefile.PyLargeFileTest) ... Timeout (0:20:00)!\n"], "timeout"),
        (
            [
                '2023-01-14T04:37:38.014611+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=GET '
                'path="/export.csv" host=app.herokuapp.com dyno=web.1 connect=0ms service=30000ms status=503\n'
            ],
            "timeout",
        ),
        (
            [
                "=>> PBS: job killed: walltime 7221 exceeded limit 7200\n",
                "nid001065 61: forrtl: error (78): process killed (SIGTERM)\n",
            ],
            "timeout",
        ),
        (["Pausing (shutting down)\n", "Resuming after Jenkins restart\n"], "killed_external"),
        (
            [
                "[2024-05-21T09:07:30.635Z] Resuming build at Tue May 21 09:07:30 UTC 2024 after Jenkins restart\n",
                "[2024-05-21T09:07:32.515Z] Waiting for reconnection of agent-9 before proceeding with build\n",
                "[2024-05-21T09:12:32.515Z] agent-9 has been removed for 5 min 0 sec, assuming it is not coming back\n",
                "[2024-05-21T09:12:32.517Z] Timeout expired 2 min 28 sec ago\n",
                "[2024-05-21T09:12:32.517Z] Cancelling nested steps due to timeout\n",
            ],
            "killed_external",
        ),
        (
            [
                "Broadcast message from root@worker-7 (unknown) at 10:08 ...\n",
                "The system is going down for halt NOW!\n",
                "Power button pressed\n",
                ".EEESSEEEEEEEEEEEEEE 5185 / 5231 ( 99%)\n",
                "There were 67 errors:\n",
            ],
            "killed_external",
        ),
        (
            [
                "ERROR ~ No such variable: Exception evaluating property 'trimmed' for nextflow.script.ChannelOut, "
                "Reason: groovy.lang.MissingPropertyException: No such property: trimmed for class: "
                "groovyx.gpars.dataflow.DataflowBroadcast\n"
            ],
            "code_bug",
        ),
        # ---------------- batch 51
        (
            [
                "Generating proxy...\n",
                "PEM file has expired /tmp/x509up_u1001 is not valid after 2024-03-02 13:24:45\n",
                "Can't contact DIRAC CS: Reason(s):\n",
                "\tPEM file /tmp/x509up_u1001 has expired, not valid after 2024-03-02 13:24:45\n",
            ],
            "credentials",
        ),
        (
            [
                "SSL error: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check "
                "failed\n"
            ],
            "credentials",
        ),
        (
            [
                "Running job 4 based on PBS_ARRAY_INDEX=4 and offset=0.\n",
                "=>> PBS: job killed: mem 40127376kb exceeded limit 33554432kb\n",
            ],
            "oom",
        ),
        (['kraken2: database ("./ref_db") does not contain necessary file hash.k2d\n'], "upstream_missing"),
        (
            [
                "RuntimeError: An invalid character was found in the first word of a fasta header. Acceptable "
                "characters for headers in an assembly hub include alphanumeric characters plus '_', '-', ':', and "
                "'.'. The offending header: scaffold_12,contig:7180003279999\n"
            ],
            "data_quality",
        ),
        (
            ["Error in DESeqDataSet(se, design = design, ignoreRank) :\n", "some values in assay are not integers\n"],
            "data_quality",
        ),
        (
            [
                "hudson.remoting.ProxyException: org.codehaus.groovy.runtime.typehandling.GroovyCastException: Cannot "
                "cast object 'ABORTED' with class 'hudson.model.Result' to class 'jenkins.model.CauseOfInterruption'\n"
            ],
            "code_bug",
        ),
        (
            [
                "18:17:03  Aborted by Jane Roe\n",
                "18:17:03  Sending interrupt signal to process\n",
                "18:17:05  [Pipeline] echo\n",
            ],
            "killed_external",
        ),
        # ---------------- batch 52
        (["Error: context deadline exceeded\n"], "timeout"),
        (
            [
                "aws_instance.worker[3]: Still creating... [20s elapsed]\n",
                'Error: error creating Guest: Get "https://pve.example.internal:8006/api2/json": context deadline '
                "exceeded\n",
            ],
            "timeout",
        ),
        (
            ["E   hypothesis.errors.DeadlineExceeded: Test took 1250.07ms, which exceeds the deadline of 1000.00ms\n"],
            "timeout",
        ),
        (
            [
                "[ERROR] Failed to execute goal org.sonarsource.scanner.maven:sonar-maven-plugin:5.1.0.4751:sonar\n",
                "Failed to query JRE metadata: GET https://api.sonarcloud.io/analysis/jres?os=linux&arch=x86_64\n",
                "  failed with HTTP 403 Forbidden. Please check the property sonar.token or the\n",
                "  environment variable SONAR_TOKEN.\n",
            ],
            "credentials",
        ),
        (["Error: Command requires authentication, please run firebase login\n"], "credentials"),
        (
            [
                "Your CLI authentication needs to be updated to take advantage of new features.\n",
                "Please run firebase login --reauth\n",
            ],
            "credentials",
        ),
        (["app_version has changed type from INTEGER to STRING\n"], "schema_mismatch"),
        (
            [
                "GraphqlResponseError: Request failed due to following response errors:\n",
                " - Field 'projectItems' doesn't exist on type 'Repository'\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "CRITICAL Failed validating 'type' in schema['properties']['ReplyTo']:\n",
                "    {'type': 'string'}\n",
                "\n",
                "On instance['ReplyTo']:\n",
                "    None\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "System.ArgumentException: Requested value 'waiting' was not found.\n",
                "at System.Enum.TryParseByName(RuntimeType enumType, ReadOnlySpan`1 value, Boolean ignoreCase, Boolean "
                "throwOnFailure, UInt64& result)\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "tensorflow.python.framework.errors_impl.InvalidArgumentError:  Invalid JPEG data or crop window, data "
                "size 65536\n",
                "\t [[{{node DecodeJpeg}}]]\n",
            ],
            "data_quality",
        ),
        (["timestamp too large (after year 10000): '12024-05-01 00:00:00'\n"], "data_quality"),
        (["LookupError: 'archived' is not among the defined enum values. Enum name: jobstate.\n"], "data_quality"),
        (
            [
                "Runtime Error\n",
                "  Failed to read package at /srv/dbt/dbt_packages/codegen: Runtime Error\n",
                "    at path []: Additional properties are not allowed ('require-dbt-version' was unexpected)\n",
            ],
            "dependency",
        ),
        (
            [
                "Redis::CommandError: MISCONF Redis is configured to save RDB snapshots, but it is currently not able "
                "to persist on disk. Commands that may modify the data set are disabled\n"
            ],
            "resource_exhausted",
        ),
        (["Signaled to exit!\n"], "killed_external"),
        (
            [
                "Caused by: java.lang.IllegalStateException:\n",
                "  Journal not found for SALES.ORDERS error File ORDERS in library SALES not found.\n",
            ],
            "upstream_missing",
        ),
        # ---------------- batch 53
        (
            [
                "fatal: reference is not a tree: 3b9e0c2d7a1f4e8b6c5d0a9f8e7d6c5b4a3f2e1d\n",
                "Unable to checkout '3b9e0c2d7a1f4e8b6c5d0a9f8e7d6c5b4a3f2e1d' in submodule path 'third_party/ops'\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "WorkflowExecutionTimedOut : START_TO_CLOSE\n",
                "activityType.name : main.approveActivity\n",
                "startToCloseTimeout: 5m\n",
                "heartbeatTimeout: 0s\n",
            ],
            "timeout",
        ),
        (
            [
                "evicting pod ingress/gateway-7d9f8c6b5-x2k4p\n",
                'error when evicting pod "gateway-7d9f8c6b5-x2k4p" (will retry after 5s): Cannot evict pod as it would '
                "violate the pod's disruption budget.\n",
            ],
            "code_bug",
        ),
        # ---------------- batch 54
        (
            [
                "[2026-01-14T03:12:09Z] //etl/loaders:test_partition_merge          TIMEOUT in 3 out of 3 in 61.8s\n",
                "[2026-01-14T03:12:09Z]   Stats over 3 runs: max = 61.8s, min = 60.2s, avg = 60.9s, dev = 0.7s\n",
            ],
            "timeout",
        ),
        (
            [
                "('42S02', \"[42S02] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Invalid object name "
                "'staging.orders_daily'. (208) (SQLExecDirectW)\")\n"
            ],
            "upstream_missing",
        ),
        (["OSError: cannot identify image file 'frames/cam2/000413.jpg'\n"], "data_quality"),
        (
            [
                "soundfile.LibsndfileError: Error opening 'corpus/clean/utt_0192.wav': File contains data in an "
                "unknown format.\n"
            ],
            "data_quality",
        ),
        (
            [
                '  File "h5py/h5f.pyx", line 102, in h5py.h5f.open\n',
                "OSError: Unable to open file (truncated file: eof = 104857600, sblock->base_addr = 0, stored_eof = "
                "389120512)\n",
            ],
            "data_quality",
        ),
        (
            [
                "ERROR: Problem reading in data/sequences.fasta:\n",
                "Duplicate key 'hCoV-19/Spain/VA-1021/2020'\n",
            ],
            "data_quality",
        ),
        (["Specified access key is not found or invalid.\n"], "credentials"),
        (
            [
                "[2026-02-03 08:01:44] production.ERROR: OSS\\Core\\OssException: access key id is empty in "
                "/srv/app/vendor/aliyuncs/oss-sdk-php/src/OSS/OssClient.php:85\n"
            ],
            "credentials",
        ),
        (["[ERROR]用户登录失败, accessKey:\n"], "credentials"),
        (
            [
                "Traceback (most recent call last):\n",
                '  File "/home/runner/work/_temp/publish.py", line 12, in <module>\n',
                "    token = os.environ['CATALOG_API_TOKEN']\n",
                '  File "/usr/lib/python3.11/os.py", line 679, in __getitem__\n',
                "    raise KeyError(key) from None\n",
                "KeyError: 'CATALOG_API_TOKEN'\n",
                "Error: Process completed with exit code 1.\n",
            ],
            "credentials",
        ),
        (
            [
                "com.alibaba.otter.canal.parse.exception.CanalParseException: parse row data failed.\n",
                "Caused by: com.alibaba.otter.canal.parse.exception.CanalParseException: column size is not match for "
                "table:shop.orders,31 vs 30\n",
            ],
            "schema_mismatch",
        ),
        # ---------------- batch 55
        (
            [
                "docker tag quay.io/acme/ingest:9c1e2f7 127.0.0.1:5001/ingest-prod:9c1e2f7\n",
                "Error response from daemon: could not find image: no such id: quay.io/acme/ingest:9c1e2f7\n",
                "make: *** [push-private-registry] Error 1\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "prefect.CloudTaskRunner | ERROR | Unexpected error: SystemError('unknown opcode',) Traceback (most "
                'recent call last):   File "/usr/local/lib/python3.6/site-packages/prefect/engine/runner.py", line 48, '
                "in inner\n"
            ],
            "dependency",
        ),
        (
            [
                "Caused by: org.apache.seatunnel.engine.server.checkpoint.CheckpointException: Checkpoint expired "
                "before completing. Please increase checkpoint timeout in the seatunnel.yaml or jobConfig env.\n"
            ],
            "timeout",
        ),
        # ---------------- batch 56
        (
            [
                "Caused by: java.lang.RuntimeException: Unable to list files in partition: "
                "s3://lake/events/dt=2026-03-01\n",
                "\tat org.apache.iceberg.data.TableMigrationUtil.listPartition(TableMigrationUtil.java:206)\n",
            ],
            "upstream_missing",
        ),
        (["src/codec.c:12:10: fatal error: zstd.h: No such file or directory\n"], "dependency"),
        (["native/io.cc:4:10: fatal error: 'hdf5.h' file not found\n"], "dependency"),
        (
            [
                "The task took longer to complete than expected, so it was canceled. Please try again or contact an "
                "administrator.\n",
                '"Export Rows"(Report 50102)."Number - OnAfterGetRecord"(Trigger) line 5\n',
            ],
            "timeout",
        ),
        # ---------------- batch 57
        (
            [
                "TransactionContext Error: Failed to commit: failed to pin block of size 256.0 KiB "
                "(511.9 MiB/512.0 MiB used)\n"
            ],
            "oom",
        ),
        (
            [
                '  File "/usr/lib/python3/site-packages/kafka/consumer/group.py", line 527, in commit\n',
                "    assert self.config['group_id'] is not None, 'Requires group_id'\n",
                "AssertionError: Requires group_id\n",
            ],
            "kafka_consumer",
        ),
        (
            [
                "java.lang.IllegalStateException: You can only check the position for partitions assigned to this "
                "consumer.\n",
                "\tat org.apache.kafka.clients.consumer.KafkaConsumer.position(KafkaConsumer.java:1745)\n",
            ],
            "kafka_consumer",
        ),
        (
            [
                "SystemCheckError: System check identified some issues:\n",
                "ERRORS:\n",
                "?: MEDIA_ROOT is not writeable\n",
                "\tHINT: Set the permissions of drwxr-xr-x /srv/app/media to be writeable by the user running the "
                "service\n",
            ],
            "permission_denied",
        ),
        (
            [
                "[2026-02-01 03:10:01 +0000] [8] [CRITICAL] WORKER TIMEOUT (pid:12)\n",
                "[2026-02-01 03:10:02 +0000] [8] [ERROR] Worker (pid:12) was sent SIGKILL! Perhaps out of memory?\n",
            ],
            "timeout",
        ),
        (
            [
                "WARNING im dingtalk_robot send to 0a1b2c fail: dingtalk req return ErrCode = 130101 ErrMsg = send too "
                "fast, exceed 20 times per minute\n"
            ],
            "throttled",
        ),
        (
            [
                "Code: 47. DB::Exception: Unknown expression or function identifier `event_ts` in scope SELECT "
                "event_ts FROM events (UNKNOWN_IDENTIFIER)\n"
            ],
            "schema_mismatch",
        ),
        (['  File "sync.py", line 240, in run\n', "ValueError: year 20110112 is out of range\n"], "data_quality"),
        (
            [
                "Error in run_step.py:\n",
                "Non-zero return code 127 from 'blastp -query in.fasta', message '/bin/sh: 1: blastp: not found'\n",
            ],
            "dependency",
        ),
        (["Unable to resolve action `someorg/get-release@v1`, unable to find version `v1`\n"], "dependency"),
        (
            [
                "ERROR! couldn't resolve module/action 'community.general.pacman'. This often indicates a misspelling, "
                "missing collection, or incorrect module path.\n"
            ],
            "dependency",
        ),
        (
            [
                "ImmediateDeprecationError: \n",
                "Morningstar has been immediately deprecated due to large breaks in the API without the\n",
            ],
            "upstream_missing",
        ),
        (["every step must define a `uses` or `run` key\n"], "code_bug"),
        (["ASSERT: [025]: unable to find '20260101-010203F' in string list\n"], "code_bug"),
        (
            [
                "2026-01-01 01:02:03.456 P00   INFO: last backup label = 20260101-010203F, version = 2.41\n",
                "2026-01-01 01:02:04.001 P00 ASSERT: [025]: unable to find '20260101-010203F' in string list\n",
            ],
            "code_bug",
        ),
        # ---------------- batch 58
        (["[>>>>>>>>>>        ] 2044/9000, 2.1 task/s, elapsed: 974s, ETA: 3312s已杀死\n"], "oom"),
        (["etl-run: error: argument --workers/-w: invalid int value: 'auto'\n"], "code_bug"),
        (
            [
                "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "
                '"9f1e" network for pod "loader-6c9d": networkPlugin cni failed to set up pod "loader-6c9d_etl" '
                "network: add cmd: failed to assign an IP address to container\n"
            ],
            "resource_exhausted",
        ),
        (
            [
                "[2026/01/12 04:10:33] [engine] caught signal (SIGSEGV)\n",
                "#0 0x7f3a10c2bad8 in ???() at ???:0\n",
                "#1 0x55d0aa0f86f2 in flb_sds_printf() at src/flb_sds.c:429\n",
            ],
            "code_bug",
        ),
        (
            [
                "2026-01-12 04:10:33.101 [info] Group member (events,coor=#PID<0.712.0>,generation=41):\n",
                "re-joining group, reason:{:connection_down, {:shutdown, :tcp_closed}}\n",
            ],
            "kafka_consumer",
        ),
        # ---------------- batch 60
        (
            [
                "Traceback (most recent call last):\n",
                '  File "/app/etl/cron.py", line 212, in load_logs\n',
                "    frame = frame.drop(columns=['owner_login'])\n",
                "KeyError: \"['owner_login'] not found in axis\"\n",
            ],
            "schema_mismatch",
        ),
        (["KeyError: \"Keyword 'TELESCOP' not found.\"\n"], "schema_mismatch"),
        (["KeyError: \"Can't open attribute (can't locate attribute: 'SensorName')\"\n"], "schema_mismatch"),
        (['fatal:["Execute.c":5861]:variable (lon) is not in file (infile)\n'], "schema_mismatch"),
        (
            [
                "RuntimeError: Error(s) in loading state_dict for Encoder:\n",
                "\tsize mismatch for rnn.weight_ih_l0: copying a param with shape torch.Size([1200, 40]) from "
                "checkpoint, the shape in current model is torch.Size([2400, 40]).\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "Username and Password not accepted. Learn more at http://support.google.com/mail/bin/answer.py?"
                "answer=14257 c22sm1234567abc.9\n"
            ],
            "credentials",
        ),
        (["  | ValueError: u'Published: 2021-13-40' is not a valid date\n"], "data_quality"),
        (["ERROR: could not parse /media/library/Artist/artist.nfo: junk after document element\n"], "data_quality"),
        (["parcels.geojson:2214: Expected a comma or colon\n"], "data_quality"),
        (
            [
                "The workflow is not valid. .github/workflows/release.yml (Line: 12, Col: 9): Unexpected symbol: "
                '\'"macos-latest"\'. Located at position 12 within expression: matrix.os == "macos-latest"\n'
            ],
            "code_bug",
        ),
        (
            [
                "[error] { name: 'HexoError',\n",
                "  reason: 'incomplete explicit mapping pair; a key node is missed',\n",
                "  message: 'Process failed: languages/en.yml',\n",
            ],
            "code_bug",
        ),
        (
            [
                "Error: Error building site: failed to render pages: JSON parse error: expected comma character or an "
                "array or object ending on line 4 and column 9\n"
            ],
            "code_bug",
        ),
        # ---------------- batch 61
        (["npm ERR! 404 Not Found - PUT .../@acme/etl-utils\n"], "credentials"),
        (
            [
                "ValueError: Required inputs (['dense_4_input']) are missing from input feed (['dense_input']).\n",
            ],
            "schema_mismatch",
        ),
        (["ResourceExhaustedError: 3 root error(s) found.\n"], "oom"),
        (
            [
                "HTTPError: 400 Bad Request from https://upload.pypi.org/legacy/  User 'etl-bot' does not have a "
                "verified primary email address. Please  add a verified primary email before attempting to upload\n"
            ],
            "permission_denied",
        ),
        (
            [
                "ValueError: Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "
                "and 500 calls per day.\n"
            ],
            "throttled",
        ),
        (
            [
                "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, "
                "user's size and/or time limits)\n"
            ],
            "resource_exhausted",
        ),
        (["ValueError: Wrong number of columns at line 20417\n"], "data_quality"),
        (
            [
                "  Error while parsing GTF file /work/ref/genes.gtf\n",
                "  Invalid GTF annotation on line 12:\n",
                "  End position of feature = 51200 > contig chr21 length = 48000\n",
            ],
            "data_quality",
        ),
        # ---------------- batch 62
        (
            [
                "Reading in file: europe-latest.osm.pbf\n",
                "Windows successfully diagnosed a low virtual memory condition. The following programs consumed the "
                "most virtual memory: importer.exe (8812) consumed 61203726336 bytes, java.exe (4410) consumed "
                "2211441664 bytes\n",
            ],
            "oom",
        ),
        (
            [
                "Java HotSpot(TM) 64-Bit Server VM warning: INFO: os::commit_memory(0x00000005c0000000, 4294967296, 0) "
                "failed; error='' (DOS error/errno=1455)\n",
                "#\n",
                "# There is insufficient memory for the Java Runtime Environment to continue.\n",
                "# Native memory allocation (mmap) failed to map 4294967296 bytes for committing reserved memory.\n",
            ],
            "oom",
        ),
        (["Artifact not found: nightly-wheels-2231847710\n"], "upstream_missing"),
        (
            [
                "Caused by: java.lang.IllegalStateException: /data/out/events/_spark_metadata/0 doesn't exist when "
                "compacting batch 19 (compactInterval: 10)\n",
                "\tat org.apache.spark.sql.execution.streaming.CompactibleFileStreamLog.compact("
                "CompactibleFileStreamLog.scala:187)\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "java.lang.RuntimeException: java.sql.SQLException: Value '0000-00-00 00:00:00' can not be represented "
                "as java.sql.Timestamp\n"
            ],
            "data_quality",
        ),
        (
            [
                "Caused by: org.embulk.standards.CsvParserPlugin$CsvRecordValidateException: "
                "org.embulk.spi.time.TimestampParseException: text is null or empty string.\n",
                "\tat org.embulk.standards.CsvParserPlugin$1.timestampColumn(CsvParserPlugin.java:317)\n",
            ],
            "data_quality",
        ),
        (
            [
                "bad class file: /home/ci/.gradle/caches/modules-2/files-2.1/org.example/client/2.0.0/client-2.0.0.jar"
                "(org/example/client/Client.class)\n",
                "class file has wrong version 61.0, should be 55.0\n",
            ],
            "dependency",
        ),
        (
            [
                "error:  Spectrum Scan Error\n",
                "  code:      15007\n",
                "  context:   File 'https://s3.eu-west-1.amazonaws.com/lake/orders/part-0003.parquet' has an "
                "incompatible Parquet schema for column 'orders.discount'\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                'ERROR: failed to solve: process "/bin/sh -c curl -fsSL -o /usr/local/bin/tool '
                'https://downloads.example.org/tool/linux-amd64/tool" did not complete successfully: exit code: 6\n'
            ],
            "transient_network",
        ),
        (
            [
                "Error: error configuring Terraform AWS Provider: no valid credential sources for Terraform AWS "
                "Provider found.\n",
                "Error: no EC2 IMDS role found, operation error ec2imds: GetMetadata, canceled, context deadline "
                "exceeded\n",
            ],
            "credentials",
        ),
        # ---------------- batch 63
        (["unable to create INITIAL extent for segment in tablespace SYSTEM\n"], "resource_exhausted"),
        (["ORA-01653: unable to extend table ETL.EVENTS_STAGE by 8192 in tablespace USERS\n"], "resource_exhausted"),
        # ---------------- batch 64
        (
            [
                "WARNING: /lfs/prep/analyses/atmos.20260620/ccpa/ccpa.t12z.01h.hrap.conus.gb2 is missing, "
                "METplus will not run\n"
            ],
            "upstream_missing",
        ),
        (
            [
                "Creating placeholder flownodes because failed loading originals.\n",
                "ERROR: Cannot resume build because FlowNode 36 for FlowHead 1 could not be loaded. This is expected "
                "to happen when using the PERFORMANCE_OPTIMIZED durability setting and Jenkins is not shut down "
                "cleanly.\n",
            ],
            "killed_external",
        ),
        (
            [
                "java.io.IOException: Tried to load head FlowNodes for execution Owner[etl/nightly/41:etl/nightly #41] "
                "but FlowNode was not found in storage for head id:FlowNodeId 1:206\n"
            ],
            "killed_external",
        ),
        (
            [
                "PowerShell tried to load a malicious resource detected as Heur.BZC.ZFV.Boxter.222.8AF5A559 and was "
                "blocked. Your device is safe.\n"
            ],
            "killed_external",
        ),
        (
            [
                "SQLSTATE[HY000]: General error: 1419 You do not have the SUPER privilege and binary logging is "
                "enabled (you *might* want to use the less safe log_bin_trust_function_creators variable), query "
                "was: CREATE\n"
            ],
            "permission_denied",
        ),
        (
            [
                "decryption failed for 'Secret.v1.[noGrp]/variables-cluster':\n",
                "  cannot get sops data key: Failed to get the data key required to decrypt the SOPS file.\n",
                "  age1qy8ez3...0vz6c: FAILED - no identity matched any of the recipients\n",
            ],
            "credentials",
        ),
        (
            [
                "Group 0: FAILED\n",
                "  age1758ynd4uzc83t24x4748uk42n6838rfg9k2ypvfhaqsn2vl3n5tq25yx3p: FAILED\n",
                "    - | failed to create reader for decrypting sops data key with\n",
                "      | age: no identities specified\n",
            ],
            "credentials",
        ),
        (
            [
                "Error getting data key: 0 successful groups required, got 0\n",
                "could not encrypt data key with PGP key: golang.org/x/crypto/openpgp error: key with fingerprint "
                "34AFE2A7C8E00ED66916D95DA9FBD7DE773B2A34 is not available in keyring and could not be retrieved from "
                "keyserver; GPG binary error: exit status 2\n",
            ],
            "credentials",
        ),
        (["* jmv: Can't install dependency MASS\n", "  * MASS: Needs R >= 4.4.0\n"], "dependency"),
        (
            [
                "> /opt/python/cp311-cp311/bin/pip install --upgrade --no-cache-dir pip\n",
                "/entrypoint.sh: line 26: /opt/python/cp311-cp311/bin/pip: No such file or directory\n",
            ],
            "dependency",
        ),
        (["The download quota for this file has been exceeded\n"], "throttled"),
        (["pull request create failed: GraphQL: was submitted too quickly (createPullRequest)\n"], "throttled"),
        (
            [
                "Database 'budget-db' on server 'budget-sql' is not currently available. Please retry the "
                "connection later.\n"
            ],
            "transient_network",
        ),
        (
            [
                "Undefined subroutine &BackRest::Archive::remote_exit called at /opt/backrest/lib/BackRest/Archive.pm "
                "line 360.\n"
            ],
            "code_bug",
        ),
        (
            [
                "Validation Failed: 1: this action would add [16] shards, but this cluster currently has [993]/[1000] "
                "maximum normal shards open\n"
            ],
            "resource_exhausted",
        ),
        (["Message : The transaction log for database 'Pinard' is full due to 'LOG_BACKUP'.\n"], "resource_exhausted"),
        (
            ["ORA-12953: The request exceeds the maximum allowed database size of 12 GB\n"],
            "resource_exhausted",
        ),
        (
            [
                "'2017-08-01 00:00:00' is not a valid value for InventoryStartDate. InventoryStartDate must contain a "
                "date in the format yyyy-mm-dd.\n"
            ],
            "data_quality",
        ),
        # ---------------- batch 65
        (["Problems:\n", "* event_id is out of order, before event_time\n"], "schema_mismatch"),
        (
            [
                "N E X T F L O W  ~  version 19.10.0\n",
                "This workflow requires Nextflow version 20.X or greater -- You are running version 19.10.0\n",
            ],
            "dependency",
        ),
        (
            [
                "<class 'sqlalchemy.exc.InternalError'>,\n",
                "InternalError('(pymysql.err.InternalError) (1054, u\"Unknown column \\'keys_changed_at\\' in "
                "\\'field list\\'\")',),\n",
                "[2020-01-23 08:59:21 +0000] [16] [ERROR] Error handling request /token/1.0/sync/1.5\n",
                "Traceback (most recent call last):\n",
                '  File "/usr/local/lib/python2.7/site-packages/tokenserver/views.py", line 21, in handle\n',
                "    user = backend.get_user(email)\n",
            ],
            "schema_mismatch",
        ),
        # ---------------- batch 66
        (
            [
                "cx_Oracle.DatabaseError: DPI-1047: Oracle Client library cannot be loaded: %1 is not a valid Win32 "
                "application. See https://oracle.github.io/odpi/doc/installation.html for help\n"
            ],
            "dependency",
        ),
        (
            [
                'pipelinerun failed: Pod "etl-nightly-run-x7k2p-pod" is invalid: [spec.volumes[4].name: Required '
                'value, spec.containers[0].volumeMounts[0].name: Not found: ""]\n'
            ],
            "code_bug",
        ),
        (
            [
                'item "etl.stats:lag.max" became not supported: Value "3.25" of type "string" is not suitable for '
                'value type "Numeric (unsigned)"\n'
            ],
            "schema_mismatch",
        ),
        (
            [
                "java.io.IOException: java.util.concurrent.TimeoutException: Idle timeout expired: 30000/30000 ms\n",
                "\tat org.eclipse.jetty.util.SharedBlockingCallback$Blocker.block(SharedBlockingCallback.java:234)\n",
            ],
            "timeout",
        ),
        (
            [
                "   Compiling etl-loader v0.3.1\n",
                "warning: spurious network error (1 tries remaining): failed to get 200 response from "
                "`https://crates.io/api/v1/crates/serde/1.0.190/download`, got 503\n",
                "error: failed to download from `https://crates.io/api/v1/crates/serde/1.0.190/download`\n",
                "\n",
                "Caused by:\n",
                "failed to get 200 response from `https://crates.io/api/v1/crates/serde/1.0.190/download`, got 503\n",
                "[-] Loader couldn't be copied: [Errno 2] No such file or directory: 'target/release/etl-loader'\n",
                "[-] Error building the loader\n",
            ],
            "transient_network",
        ),
        (
            [
                "Error publishing package. NuGet server returned 403: The specified API key is invalid, has expired, "
                "or does not have permission to access the specified package.\n"
            ],
            "credentials",
        ),
        (["End coordinate 50818468 bigger than chr22 size of 50818400\n"], "data_quality"),
        (["RuntimeError: received 0 items of ancdata\n"], "resource_exhausted"),
        (
            [
                "2024-03-01 02:00:07 [JobHandler.reader-41] Error occurred during initialization of VM\n",
                "2024-03-01 02:00:07 [JobHandler.reader-41] Could not reserve enough space for object heap\n",
            ],
            "oom",
        ),
        (
            [
                "[>>>>      ] 12/30, 0.4 task/s, elapsed: 31s, ETA: 45s./run_eval.sh: 第 9 行： 20417 已杀死 python3 "
                "eval.py --config base.py\n"
            ],
            "oom",
        ),
        (["remote: error: Cannot force-push to a protected branch\n"], "permission_denied"),
        # ---------------- batch 67
        (["ERROR: setuptools==58.1.0 is used in combination with setuptools-scm>=8.x\n"], "dependency"),
        (
            [
                "02:10:05 GitHub API Usage: Current quota has 12 remaining (3 over budget). Next quota of 60 in 41 "
                "min. Sleeping for 9 min.\n",
                "02:13:05 GitHub API Usage: Still sleeping, now only 6 min remaining.\n",
            ],
            "throttled",
        ),
        (
            [
                'Error from server (Forbidden): pods "etl-worker-0" is forbidden: User "system:anonymous" cannot get '
                'resource "pods" in API group "" in the namespace "etl"\n'
            ],
            "credentials",
        ),
        (
            [
                'Failed to pull image "registry.example.com/etl/loader:v20240301-1a2b3c": rpc error: code = Unknown '
                'desc = failed to resolve image "registry.example.com/etl/loader:v20240301-1a2b3c": no available '
                "registry endpoint: registry.example.com/etl/loader:v20240301-1a2b3c not found\n"
            ],
            "upstream_missing",
        ),
        (
            [
                "Retrieving repository 'Main Update Repository' metadata [.......error]\n",
                "Repository 'Main Update Repository' is invalid.\n",
                " - [|] Error trying to read from 'http://download.opensuse.org/update/leap/15.5/oss/'\n",
                " - Location 'http://download.opensuse.org/update/leap/15.5/oss/content' is temporarily "
                "unaccessible.\n",
            ],
            "transient_network",
        ),
        (
            [
                "http://mirror.example.org/repo/x86_64/libfoo-1.2.3-1.x86_64.rpm: [Errno 12] Timeout on "
                "http://mirror.example.org/repo/x86_64/libfoo-1.2.3-1.x86_64.rpm: (28, 'Operation too slow. Less than "
                "1000 bytes/sec transferred the last 30 seconds')\n"
            ],
            "transient_network",
        ),
        # ---------------- batch 68
        (
            [
                "2025-03-02 01:14:09.221 UTC [1] LOG:  server process (PID 4410) was terminated by signal 9: Killed\n",
                "2025-03-02 01:14:09.221 UTC [1] DETAIL:  Failed process was running: COPY public.events (id, payload) "
                "FROM stdin;\n",
            ],
            "oom",
        ),
        (["Queries are set to timeout after 120 seconds.\n"], "timeout"),
        (
            [
                "[INFO] --- maven-gpg-plugin:3.1.0:sign (sign-artifacts) @ etl-core ---\n",
                "gpg: no default secret key: No secret key\n",
                "gpg: signing failed: No secret key\n",
            ],
            "credentials",
        ),
        (
            [
                "asyncio.exceptions.CancelledError\n",
                'ERROR: unexpected error - Connect timeout on endpoint URL: "http://169.254.169.254/latest/api/token"\n',
            ],
            "credentials",
        ),
        (
            [
                "##[error]someorg/release-action/v2.1.0/action.yml (Line: 14, Col: 3): Unexpected value 'inptus'\n",
                "##[error]Fail to load someorg/release-action/v2.1.0/action.yml\n",
            ],
            "code_bug",
        ),
        (
            [
                "Error: Can't find 'action.yml', 'action.yaml' or 'Dockerfile' under '/home/runner/work/etl/etl/"
                "setup'. Did you forget to run actions/checkout before running your local action?\n"
            ],
            "code_bug",
        ),
        (
            [
                "==> Some builds didn't complete successfully and had errors:\n",
                "--> base.amazon-ebs.ubuntu: No AMI was found matching filters: {\n",
                '  Filters: [{ Name: "name", Values: ["ubuntu-jammy-22.04-*"] }],\n',
                "}\n",
            ],
            "upstream_missing",
        ),
        (["marshmallow.exceptions.ValidationError: {'run_id': ['Not a valid integer.']}\n"], "schema_mismatch"),
        (
            [
                "{\n",
                '  "error": {\n',
                '    "code": 429,\n',
                '    "message": "Resource has been exhausted (e.g. check quota).",\n',
                '    "status": "RESOURCE_EXHAUSTED"\n',
                "  }\n",
                "}\n",
            ],
            "throttled",
        ),
        (["{'detail': 'You are attempting to use this endpoint too quickly. Limit is 5/1s'}\n"], "throttled"),
        (["connect EACCES /var/run/docker.sock\n"], "permission_denied"),
        (
            [
                "adb: failed to install build/app/outputs/apk/app.apk: Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE: "
                "Package couldn't be installed in /data/app/com.example.etl-1]\n"
            ],
            "resource_exhausted",
        ),
        # ---------------- batch 69
        (
            [
                "de.po:212: format specifications in 'msgid' and 'msgstr' for argument 2 are not the same\n",
                "/usr/bin/msgfmt: found 1 fatal error\n",
            ],
            "data_quality",
        ),
        (["fr.po:88: number of format specifications in 'msgid' and 'msgstr' does not match\n"], "data_quality"),
        (["po/pt_BR.po:301: 'msgid' and 'msgstr' entries do not both end with '\\n'\n"], "data_quality"),
        (["/opt/etl/conf/env.sh: 权限不够\n"], "permission_denied"),
        (
            [
                '2025-01-09 04:00:01 DEBUG: https://data.example.org:443 "GET /exports/2025-01-08.csv.gz HTTP/1.1" '
                "404 None\n"
            ],
            "upstream_missing",
        ),
        # ---------------- batch 70
        (
            [
                "scanned 4120 directories, 88012 files in 0:09\n",
                "Getötet 12.40%  5.120 MiB/s  3.877 GiB / 31.260 GiB  8812 / 88012 items  0 errors  ETA 1:31:02\n",
            ],
            "oom",
        ),
        (["./backup.sh: Zeile 12:  4711 Getötet                 restic backup /srv/data\n"], "oom"),
        (
            [
                "Checking latest released version... v1.4.2\n",
                "New release found! v1.4.1 --> v1.4.2\n",
                "ReleaseError: No asset found for target: `etlctl-v1.4.2-linux-x64.tar.gz`\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "Error Message: \"Quota exceeded for quota group 'WriteGroup' and limit 'Write requests per user per "
                "100 seconds' of service 'sheets.googleapis.com' for consumer 'project_number:1234'.\"\n"
            ],
            "throttled",
        ),
        (
            [
                "error: api errors (status 200 OK): this crate exists but you don't seem to be an owner. If you "
                "believe this is a mistake, perhaps you need to accept an invitation to be an owner before "
                "publishing.\n"
            ],
            "permission_denied",
        ),
        (["C++17 standard requested but CXX17 is not defined\n"], "dependency"),
        # ---------------- batch 71
        (
            [
                "$ conda env create --quiet --name latest --file docs/environment.yml\n",
                "Warning: you have pip-installed dependencies in your environment file, but you do not list pip itself "
                "as one of your conda dependencies.  Conda may not use the correct pip to install your packages, and "
                "they may end up in the wrong place.  Please add an explicit pip dependency.  I'm adding one for you, "
                "but still nagging you.\n",
                "Collecting package metadata (repodata.json): ...working... Killed\n",
                "Command killed due to excessive memory consumption\n",
            ],
            "oom",
        ),
        (
            [
                "ERROR (-v for expanded information):\n",
                "    QueryExecutionKernelException: Cannot merge node using null property value for customer_id\n",
            ],
            "data_quality",
        ),
        (["ERROR! Attempting to decrypt but no vault secrets found\n"], "credentials"),
        # ---------------- batch 72
        (
            [
                "openssl aes-256-cbc -K  -iv  -in deploy_key.enc -out deploy_key -d\n",
                "iv undefined\n",
                "rake aborted!\n",
            ],
            "credentials",
        ),
        (
            [
                "curl: (22) The requested URL returned error: 403\n",
                "Could not resolve the latest etlctl release; falling back to go install\n",
            ],
            "throttled",
        ),
        (
            [
                "connect [ERROR] 2024-04-18 03:30:33,334 [main] org.apache.kafka.connect.cli.AbstractConnectCli "
                "startConnect - Failed to start Connect\n",
                "org.apache.kafka.connect.errors.ConnectException: Failed to find any class that implements interface "
                "org.apache.kafka.connect.rest.ConnectRestExtension and which name matches "
                "com.example.monitoring.EtlMonitoringExtension\n",
                "\tat org.apache.kafka.connect.runtime.isolation.Plugins.newPlugin(Plugins.java:555)\n",
            ],
            "dependency",
        ),
        (
            [
                "  Preparing metadata (pyproject.toml): started\n",
                "  Preparing metadata (pyproject.toml): finished with status 'error'\n",
                "  error: subprocess-exited-with-error\n",
                "  \n",
                "  × Preparing metadata (pyproject.toml) did not run successfully.\n",
                "  │ exit code: 1\n",
                "  ╰─> [212 lines of output]\n",
                "      The Meson build system\n",
            ],
            "dependency",
        ),
        # ---------------- batch 73
        (
            [
                "npm ERR! code E401\n",
                "npm ERR! Unable to authenticate, need: Bearer authorization_uri=https://login.example.net/***, "
                'Basic realm="https://pkgs.example.visualstudio.com/", TFS-Federated\n',
            ],
            "credentials",
        ),
        (
            [
                "docker: Error response from daemon: failed to create task for container: failed to create shim task: "
                "OCI runtime create failed: runc create failed: unable to start container process: exec: "
                '"/opt/loader/loader": stat /opt/loader/loader: no such file or directory: unknown.\n'
            ],
            "dependency",
        ),
        (
            [
                "pyodbc.InterfaceError: ('IM002', '[IM002] [unixODBC][Driver Manager]Data source name not found and "
                "no default driver specified (0) (SQLDriverConnect)')\n"
            ],
            "dependency",
        ),
        (
            [
                "psql:sql/daily_rollup.sql:42: ERROR:  insufficient memory reserved for statement\n",
                "HINT:  Increase statement memory or reduce the number of Parquet tables to be scanned.\n",
            ],
            "oom",
        ),
        (
            [
                "remote: error: GH013: Repository rule violations found for refs/heads/main.\n",
                "remote: - Changes must be made through a pull request.\n",
            ],
            "permission_denied",
        ),
        (
            ["The importer has been polling for more than 601 seconds. It has stopped, to prevent eternal loops.\n"],
            "timeout",
        ),
        (
            [
                "ERROR -- Error while executing the upgrade script on node-3. Action did not finish after 900 seconds. "
                "Check /var/log/upgrade.log for details.\n"
            ],
            "timeout",
        ),
        (
            [
                "An error occurred while fetching file from: https://downloads.example.com/exports/2024-06-01.xml!\n",
                "Reason: 404 - Not Found.\n",
            ],
            "upstream_missing",
        ),
        (
            [
                'sqlalchemy.exc.IntegrityError: (MySQLdb._exceptions.IntegrityError) (1062, "Duplicate entry '
                "'2147483647' for key 'PRIMARY'\")\n",
                "[SQL: INSERT INTO events (run_id, payload) VALUES (%s, %s)]\n",
            ],
            "resource_exhausted",
        ),
        (
            [
                "24/06/01 03:12:44 ERROR mapreduce.TextExportMapper: Exception raised during data export\n",
                "java.lang.RuntimeException: Can't parse input data: 'N/A'\n",
                "\tat orders.__loadFromFields(orders.java:412)\n",
            ],
            "data_quality",
        ),
        (
            [
                "ERROR: Command '['makeblastdb', '-in', 'genomes.fasta', '-dbtype', 'nucl']' returned non-zero exit "
                "status 1\n",
                "BLAST Database creation error: Error: Duplicate seq_ids are found: \n",
            ],
            "data_quality",
        ),
        # ---------------- batch 74
        (
            [
                "RuntimeError: CUDF failure at: /work/cpp/src/io/parquet/reader_impl_helpers.cpp:265: All sources must "
                "have the same schema\n"
            ],
            "schema_mismatch",
        ),
        (
            [
                '  File "etl/worker.py", line 88, in claim_next\n',
                "psycopg.errors.FeatureNotSupported: cached plan must not change result type\n",
            ],
            "schema_mismatch",
        ),
        # ---------------- batch 76
        (
            [
                'pods "backup-maintain-job-7f2c": is forbidden:\n',
                "exceeded quota: default-resourcequota, requested: requests.memory=128Mi,\n",
                "used: requests.memory=16300Mi, limited: requests.memory=16Gi\n",
            ],
            "resource_exhausted",
        ),
        (
            [
                '{"level":"error","msg":"Reconciler error","error":"unable to clone \'ssh://git@github.com/org/f\', '
                'error: ssh: handshake failed: knownhosts: key mismatch"}\n'
            ],
            "credentials",
        ),
        (
            ["Your certificate 'QFY47S6U.cer' is not valid, please check end date and renew it if necessary\n"],
            "credentials",
        ),
        (
            [
                "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n",
                "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n",
                "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n",
                "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n",
            ],
            "credentials",
        ),
        (
            [
                'Error persisting data for table "contacts": Record 1389 did not conform to schema:\n',
                "#/Tracking/0: extraneous key [TrackingOptionName] is not permitted\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "2026-07-15 12:01:57 Failed to get status for job 'qc.a0c5#9'\n",
                "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n",
            ],
            "transient_network",
        ),
        (
            [
                "The HDF5 header files used to compile this application do not match\n",
                "the version used by the HDF5 library to which this application is linked.\n",
                "Data corruption or segmentation faults may occur if the application continues.\n",
                "Headers are 1.8.17, library is 1.8.18\n",
            ],
            "dependency",
        ),
        (
            [
                "ERROR 1: TIFFFillStrip:Read error at scanline 18784; got 26082 bytes, expected 70875\n",
                "ERROR 1: TIFFReadEncodedStrip() failed.\n",
                "ERROR 1: /data/mosaic.tif, band 1: IReadBlock failed at X offset 0, Y offset 18785\n",
                "ERROR 1: GetBlockRef failed at X block offset 0, Y block offset 18785\n",
            ],
            "data_quality",
        ),
        (
            [
                "InternalMSEEDError: Encountered 3 error(s) during a call to readMSEEDBuffer():\n",
                "msr_unpack_data(NZ_RBAZ_10_Z_D): only decoded 1918 samples of 1948 expected\n",
            ],
            "data_quality",
        ),
        # ---------------- batch 77
        (
            [
                "Npgsql.NpgsqlException: Exception while reading from stream\n",
                " ---> System.TimeoutException: Timeout during reading attempt\n",
                "   at Npgsql.Internal.NpgsqlReadBuffer.EnsureLong(Int32 count)\n",
            ],
            "timeout",
        ),
        (
            [
                " ! [remote rejected] v2.1.0 -> v2.1.0 (Unable to determine if workflow can be created or updated due "
                "to timeout; `workflows` scope may be required.)\n"
            ],
            "permission_denied",
        ),
        (["resource config creds evaluation: undefined vars: etl_team.deploy_key\n"], "credentials"),
        (
            [
                "shapely.errors.GEOSException: TopologyException: unable to assign free hole to a shell at 12 -3\n",
            ],
            "data_quality",
        ),
        # ---------------- batch 78
        (
            [
                "2024-03-02 08:14:55,120 UTC [51022] ERROR   Missing data for preprocessor pr_ssp585/pr:\n",
                "- Missing data for CanESM5: pr\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "Fatal error: Uncaught exception 'Facebook\\Exceptions\\FacebookResponseException' with message '(#32) "
                "Page request limited reached'\n"
            ],
            "throttled",
        ),
        (["sensor-bridge  | MQTT error: Connection refused: Not authorized\n"], "credentials"),
        (["Connection Refused: bad user name or password.\n"], "credentials"),
        (["auth: unexpected command in authorise_client(): e:001D:unable to authorise on server\n"], "credentials"),
        (["proto: bad wiretype for field events.Reading.SensorId: got wiretype 0, want 2\n"], "schema_mismatch"),
        (
            [
                " libgdal-dev build-depends on:\n",
                " - amd64:libproj-dev\n",
                " amd64:libproj-dev depends on missing:\n",
                " - amd64:libsqlite3-0 (>= 3.38)\n",
            ],
            "dependency",
        ),
        (["Error: FeedImportError: source vendor-feed failed: listing entry is malformed\n"], "data_quality"),
        (
            [
                "ERROR ~ Detected join operation duplicate emission on left channel -- offending element: "
                "key=[id:S1]; value=/work/ab/S1.bam\n"
            ],
            "data_quality",
        ),
        (
            [
                "AssertionError: Got 250 rows for daily bars table with first day=2021-01-04, last day=2021-12-31, "
                "expected 252 rows.\n"
            ],
            "data_quality",
        ),
        (["ERROR:  value out of range: overflow\n", 'CONTEXT:  SQL function "exp" statement 1\n'], "data_quality"),
        # ---------------- batch 79
        (
            [
                "2025-11-02T04:10:09.118Z no assets to download\n",
                "2025-11-02T04:10:09.120Z ##[error]Process completed with exit code 1.\n",
            ],
            "upstream_missing",
        ),
        (
            [
                'Error: 0xC0016016 at Load Orders: Failed to decrypt protected XML node "DTS:Password" with error '
                '0x8009000B "Key not valid for use in specified state.".\n'
            ],
            "credentials",
        ),
        (
            ["modal.exception.NotFoundError: No secret named openai-key - you can add secrets to your account\n"],
            "credentials",
        ),
        # ---------------- batch 80
        (["Error: backup failed: timed out waiting for all PodVolumeBackups to complete\n"], "timeout"),
        (
            [
                "[03:12:44] [Server Watchdog/FATAL]: A single server tick took 60.00 seconds (should be max 0.05)\n",
                "[03:12:44] [Server Watchdog/FATAL]: Considering it to be crashed, server will forcibly shutdown.\n",
            ],
            "timeout",
        ),
        (
            [
                "ERROR: /src/svc/BUILD.bazel:7:11: GoCompilePkg svc/api/go_default_library.a failed: Failed to fetch "
                "blobs because they do not exist remotely.: Missing digest: 0a1b2c3d/18211 for "
                "bazel-out/k8-fastbuild/bin/svc/model/go_default_library.x\n"
            ],
            "upstream_missing",
        ),
        (
            [
                "RuntimeError: missing the following scenes:\n",
                " - successor acquisition for scene S1B_IW_GRDH_1SDV_20210311T170212_025963_0318B1_9A2C\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "sbatch: error: Batch job submission failed: Invalid account or account/partition combination "
                "specified\n"
            ],
            "permission_denied",
        ),
        (["Import failed for /data/media/show.s01e02.mkv: Access to the path is denied.\n"], "permission_denied"),
        (
            [
                '{"code":-1003,"msg":"Way too much request weight used; IP banned until 1700000000000. Please use the '
                'websocket for live updates to avoid bans."}\n'
            ],
            "throttled",
        ),
        (["Error: RPCError 420: FLOOD_PREMIUM_WAIT_7 (caused by SaveBigFilePartRequest)\n"], "throttled"),
        (
            [
                "Error - passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND or via BORG_PASSPHRASE_FD is "
                "incorrect.\n"
            ],
            "credentials",
        ),
        (
            [
                "INFO: Control stack guard page unprotected\n",
                "Control stack exhausted (no more space for function call frames).\n",
                "This is probably due to heavily nested or infinitely recursive function calls\n",
            ],
            "code_bug",
        ),
        (
            [
                ">       raise NotImplementedError()\n",
                "E       NotImplementedError\n",
                "tests/test_loader.py:41: NotImplementedError\n",
            ],
            "code_bug",
        ),
        (["ArrowInvalid: No match for FieldRef.Name(object_id) in id: string\n", "number: int64\n"], "schema_mismatch"),
        (
            [
                "Errors getting memory from system: json: cannot unmarshal object into Go struct field .Metrics of "
                'type string  source="memory_collector.go:403"\n'
            ],
            "schema_mismatch",
        ),
        (
            [
                "[W::bam_hdr_read] EOF marker is absent. The input is probably truncated\n",
                "[E::bgzf_read_block] Failed to read BGZF block data at offset 1988 expected 2705 bytes; hread "
                "returned 1466\n",
                "samtools fastq: Failed to read bam record\n",
                "samtools fastq: Error writing to FASTx files.: No such file or directory\n",
            ],
            "data_quality",
        ),
        # ---------------- batch 81
        (
            [
                "+ docker push registry.example.com/team/api:41\n",
                "/var/jenkins/workspace/api@tmp/durable-9a8b7c6d/script.sh: 1: "
                "/var/jenkins/workspace/api@tmp/durable-9a8b7c6d/script.sh: docker: not found\n",
            ],
            "dependency",
        ),
        (
            [
                'fatal: [web1]: FAILED! => {"msg": "You need to install \\"jmespath\\" prior to running '
                'json_query filter"}\n'
            ],
            "dependency",
        ),
        (
            [
                "> [2/6] RUN /usr/local/bin/install-plugins.sh < /usr/share/jenkins/ref/plugins.txt:\n",
                "#7 0.211 WARN: install-plugins.sh has been removed, please switch to jenkins-plugin-cli\n",
            ],
            "dependency",
        ),
        # ---------------- batch 82
        (["FAIL  ledger > rebuilds the monthly totals\n", "Error: Test timed out in 5000ms.\n"], "timeout"),
        (
            [
                'Error building site: "/srv/site/content/posts/gallery.md:1:1": timed out initializing value. This is '
                "most likely a circular loop in a shortcode\n"
            ],
            "timeout",
        ),
        (["  [RuntimeException]\n", "  The process timed-out.\n"], "timeout"),
        (
            [
                "10:02:11.004 [error] Task #PID<0.201.0> started from #PID<0.88.0> terminating\n",
                "** (stop) exited in: GenServer.call(Loader.Server, {:take_batch, 4}, 60000)\n",
                "    ** (EXIT) time out\n",
                "    (elixir) lib/gen_server.ex:604: GenServer.call/3\n",
            ],
            "timeout",
        ),
        (["Error: missing trie node 4be1c0a2f3 (path )\n", "    at web3.js:3104:20\n"], "upstream_missing"),
        (['{"code": -32000, "message": "required historical state unavailable (reexec=128)"}\n'], "upstream_missing"),
        (["Slot 201447310 was skipped, or missing in long-term storage\n"], "upstream_missing"),
        (["HTTP status 500 Internal Server Error: Trying to download an offline product\n"], "upstream_missing"),
        (
            [
                '[WARN] Cannot update chain head err="flush: mdbx_put: MDBX_MAP_FULL(-30792)The allocated database '
                'storage size limit has been reached."\n'
            ],
            "resource_exhausted",
        ),
        (
            [
                "ERROR: NoSuccess: Couldn't get job id from submitted job! sbatch output:\n",
                "sbatch: error: bank_limit plugin: The requested time can not exceed the available balance.\n",
            ],
            "resource_exhausted",
        ),
        (
            ["mapping set to strict, dynamic introduction of [owner_group] within [_doc] is not allowed\n"],
            "schema_mismatch",
        ),
        (
            [
                "com.fasterxml.jackson.databind.exc.InvalidFormatException: Cannot deserialize value of type "
                '`com.example.EventKind` from String "queue_entry": not one of the values accepted for Enum class: '
                "[PUSH, FORK, RELEASE]\n"
            ],
            "schema_mismatch",
        ),
        (["! LaTeX Error: File `newfloat.sty' not found.\n", "! Emergency stop.\n"], "dependency"),
        (
            [
                "CMake Error at /opt/ros/noetic/share/catkin/cmake/catkinConfig.cmake:83 (find_package):\n",
                '  Could not find a package configuration file provided by "catkin_virtualenv"\n',
                "  with any of the following names:\n",
            ],
            "dependency",
        ),
        (
            [
                "IncompatiblePlatform: Development platform 'espressif32' is not compatible\n",
                "with PlatformIO Core v6.1.18 and depends on PlatformIO Core >=6.1.19.\n",
            ],
            "dependency",
        ),
        (
            [
                "Failed sync attempt to 02a9f1: one or more objects failed to apply, reason: CronJob.batch "
                '"nightly-export" is invalid: [spec.jobTemplate.spec.template.spec.containers[0].volumeMounts[0].name: '
                'Not found: "scratch"]\n'
            ],
            "code_bug",
        ),
        # ---------------- batch 83
        (
            [
                "error retrieving image information: googleapi: Error 404:\n",
                "The resource 'projects/example-images/global/images/etl-runner-2-1-0-debian-9'\n",
                "was not found, notFound\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "Failed to create a session. The runner registration has been deleted from the server, please "
                "re-configure.\n"
            ],
            "credentials",
        ),
        (
            [
                "error: failed to run custom build command for `openssl-sys v0.9.60`\n",
                'run pkg_config fail: "Failed to run `\\"pkg-config\\" \\"--libs\\" \\"openssl\\"`: No such file or '
                'directory (os error 2)"\n',
            ],
            "dependency",
        ),
        # ---------------- batch 84
        (["HTTPException(status_code=504, detail='Rendering is taking too long.')\n"], "timeout"),
        (
            [
                "trino.exceptions.DatabaseError: failed to commit transaction 5d1c0a7e-2b1f-4c3e-9d7a-0f1e2d3c4b5a: "
                'TrinoUserError(type=USER_ERROR, name=UNKNOWN_TRANSACTION, message="Unknown transaction ID: '
                "5d1c0a7e-2b1f-4c3e-9d7a-0f1e2d3c4b5a. Possibly expired? Commands ignored until end of transaction "
                'block")\n'
            ],
            "timeout",
        ),
        (
            [
                "Caused by: org.testcontainers.containers.ContainerLaunchException: Timed out waiting for log output "
                "matching '.*Ready to accept connections.*'\n",
                "\tat org.testcontainers.containers.wait.strategy.LogMessageWaitStrategy.waitUntilReady("
                "LogMessageWaitStrategy.java:49)\n",
            ],
            "timeout",
        ),
        (
            [
                "Downloading 3f2a9c1e-7b44-4d0e-a1c2-9e8f7d6c5b4a to ./S2B_MSIL2A_20180412.zip\n",
                "Product 3f2a9c1e-7b44-4d0e-a1c2-9e8f7d6c5b4a is not online. Triggering retrieval from long term "
                "archive.\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "cannot open URL 'ftp://ftp.example.org/pub/daily/station_0042_recent.zip': FTP status was '550 "
                "Requested action not taken; file unavailable'\n"
            ],
            "upstream_missing",
        ),
        (["Sync failed with error: Limit reached (60 tokens per 60000 ms)\n"], "throttled"),
        (
            [
                "could not build dsn for snowflake connection: Private Key could not be parsed: Could not parse "
                "private key, key is not in PEM format\n"
            ],
            "credentials",
        ),
        (
            ["mc: Unable to list folder. The access key ID you provided does not exist in our records.\n"],
            "credentials",
        ),
        (
            [
                "LoadError: no such file to load -- mustache\n",
                "      require at org/jruby/RubyKernel.java:940\n",
            ],
            "dependency",
        ),
        (['FATAL:   "samtools": executable file not found in $PATH\n'], "dependency"),
        (
            [
                'ERROR:  could not create unique index "orders_customer_id_day_key"\n',
                'DETAIL:  Key ("customerId", day)=(c81, 2024-03-01) is duplicated.\n',
            ],
            "data_quality",
        ),
        (
            [
                "Trilogy::ProtocolError: 1062: Duplicate entry\n",
                "'Order-5512-https://shop.example.com/items/9'\n",
                "for key 'index_order_links_on_target_and_site'\n",
            ],
            "data_quality",
        ),
        (
            [
                "PDOException: SQLSTATE[23000]: Integrity constraint violation: 1452 Cannot add or update a child row: "
                "a foreign key constraint fails (`shop`.`#sql-1a2b_3c`, CONSTRAINT `orders_user_id_foreign` FOREIGN "
                "KEY (`user_id`) REFERENCES `users` (`user_id`)) in /srv/app/vendor/laravel/framework/src/Illuminate/"
                "Database/Connection.php:544\n",
                "Stack trace:\n",
                "#0 /srv/app/vendor/laravel/framework/src/Illuminate/Database/Connection.php(752): "
                "Illuminate\\Database\\Connection->runQueryCallback('alter table `or...', Array)\n",
            ],
            "data_quality",
        ),
        (
            [
                "Error: runtime error: open64: 0 Success /osm3s_v0.7.61_osm_base "
                "Dispatcher_Client::request_read_and_idx::timeout. Probably the server is overcrowded.\n"
            ],
            "transient_network",
        ),
        # ---------------- batch 85
        (
            [
                "Failed to write metric (will be dropped: 400 Bad Request): partial write: max-series-per-database "
                "limit exceeded: (1000000)\n"
            ],
            "resource_exhausted",
        ),
        (
            [
                "Error: Client has not agreed to the required terms and conditions.http://copernicus-climate.eu/exc/"
                "missing-terms\n"
            ],
            "permission_denied",
        ),
        (
            [
                "usgs.USGSError: User currently has more than 20 downloads that have not been attempted in the past 15 "
                "minutes.\n"
            ],
            "throttled",
        ),
        (["No access to secret variables, doing nothing\n", "[success] elapsed time: 0 s\n"], "credentials"),
        (
            [
                "W tensorflow/core/framework/op_kernel.cc:1767] OP_REQUIRES failed at example_parsing_ops.cc:94 : "
                "Invalid argument: Feature: image/height (data type: int64) is required but could not be found.\n"
            ],
            "schema_mismatch",
        ),
        (
            [
                'Invalid tag "/zabbix_export/version": unsupported version number.\n',
                'Invalid tag "/zabbix_export/templates/template(1)/items/item(3)": unexpected tag "uuid".\n',
            ],
            "schema_mismatch",
        ),
        (
            [
                "SEVERE: Failed Loading plugin Pipeline: Job v2.40 (workflow-job)\n",
                "java.io.IOException: Pipeline: Job version 2.40 failed to load.\n",
                " - You must update Jenkins from version 2.190 to version 2.222.4 or later to run this plugin.\n",
            ],
            "dependency",
        ),
        (["pandoc: Filter pandoc-crossref not found\n", "make: *** [pdf] Error 83\n"], "dependency"),
        (
            [
                "/tmp/step_command.sh: line 1: 2025-01-07T03:12:44.120Z: command not found\n",
                "/tmp/step_command.sh: line 1: task: command not found\n",
            ],
            "code_bug",
        ),
        # ---------------- batch 86
        (
            [
                "MongoServerError: PlanExecutor error during aggregation :: caused by :: Sort exceeded memory limit of "
                "104857600 bytes, but did not opt in to external sorting.\n",
                "    at Connection.onMessage (/app/node_modules/mongodb/lib/cmap/connection.js:210:30)\n",
            ],
            "oom",
        ),
        (
            [
                "[skesa] Memory provided is insufficient to do runs in 10 cycles for the read coverage. We find that "
                "16 Gb for 20x coverage of a 5 Mb genome is usually sufficient\n"
            ],
            "oom",
        ),
        (
            [
                "PermissionDenied (permanent) at Writer::close, context: { response: Parts { status: 403 }, service: "
                "gdrive, path: out/part-7.csv } => "
                'GdriveError { message: "The user\'s Drive storage quota has been exceeded." }\n'
            ],
            "resource_exhausted",
        ),
        (["Error: server limit exceeded (resource_limit_exceeded, 5c1f0a9e2b7d4411)\n"], "resource_exhausted"),
        (
            [
                "[WARN ][logstash.inputs.rabbitmq] Error while setting up connection, will retry "
                "{:exception=>MarchHare::AccessRefused, :message=>\"ACCESS_REFUSED - access to queue 'orders' in "
                "vhost '/' refused for user 'ingest'\"}\n"
            ],
            "permission_denied",
        ),
        (
            [
                '"message": "Current user cannot act as service account 1234-compute@developer.gserviceaccount.com. '
                'Enforced by Org Policy constraint constraints/dataflow.enforceComputeDefaultServiceAccountCheck."\n'
            ],
            "permission_denied",
        ),
        (["Mon Mar 04 02:10:11 2024: CRITICAL: Logon failed. Check 'USER' Password\n"], "credentials"),
        (['"message" : "Illegal field name sent: signal_status"\n'], "schema_mismatch"),
        (
            [
                "WorkflowError:\n",
                "Error running conda info. Is conda installed and accessible? Error: Command 'conda info --json' "
                "returned non-zero exit status 127.\n",
            ],
            "dependency",
        ),
        (
            [
                'CAPSULE EXCEPTION: java.io.IOException: Cannot run program "$JAVA_ROOT/bin/java": error=2, No such '
                "file or directory\n",
                "Unable to initialize nextflow environment\n",
            ],
            "dependency",
        ),
        (
            [
                "dyld[20411]: Library not loaded: /usr/local/opt/libpq/lib/libpq.5.dylib\n",
                "  Referenced from: /usr/local/Cellar/pgbouncer/1.21.0/bin/pgbouncer\n",
                "  Reason: tried: '/usr/local/opt/libpq/lib/libpq.5.dylib' (no such file)\n",
            ],
            "dependency",
        ),
        (
            [
                '  File "/app/load_export.py", line 13, in <module>\n',
                "    data = xmltodict.parse(f.read())\n",
                "xml.parsers.expat.ExpatError: syntax error: line 212, column 0\n",
            ],
            "data_quality",
        ),
        (
            ["OSError: the file is not EDF(+) or BDF(+) compliant (Physical Maximum)\n"],
            "data_quality",
        ),
        (["File size in bytes is 1048612. File size must be 1040384 as specified in the header\n"], "data_quality"),
        # ---------------- batch 87
        (
            [
                "pandoc: Heap exhausted;\n",
                "pandoc: Current maximum heap size is 2147483648 bytes (2048 MB).\n",
                "pandoc: Use `+RTS -M<size>' to increase it.\n",
            ],
            "oom",
        ),
        (
            [
                "hypothesis.errors.DeadlineExceeded: Test took 812.55ms, which exceeds the\n",
                "  deadline of 200.00ms\n",
            ],
            "timeout",
        ),
        (['{"error":"No free volumes left!"}\n'], "resource_exhausted"),
        (
            [
                "2024-05-02 06:10:11,201 INFO Request is failed\n",
                "2024-05-02 06:10:11,202 ERROR Message: no data is available within your requested subset\n",
                "2024-05-02 06:10:11,202 ERROR Reason:  Request returned no data\n",
            ],
            "upstream_missing",
        ),
        (
            [
                "The archive might have blocked the request due to high usage. Try waiting for a while before "
                "retrying.\n"
            ],
            "throttled",
        ),
        (
            [
                "org.jenkinsci.plugins.scriptsecurity.scripts.UnapprovedUsageException: script not yet approved for "
                "use\n",
                "\tat org.jenkinsci.plugins.scriptsecurity.scripts.ScriptApproval.using(ScriptApproval.java:398)\n",
            ],
            "permission_denied",
        ),
        (["Error submitting transfer to fts Proxy expired!\n"], "credentials"),
        (
            [
                "org.hibernate.tool.schema.spi.SchemaManagementException: Schema-validation: wrong column type "
                "encountered in column [state] in table [job_run]; found [varchar (Types#VARCHAR)], but expecting "
                "[int4 (Types#INTEGER)]\n"
            ],
            "schema_mismatch",
        ),
        (
            [
                "nested exception is org.hibernate.tool.schema.spi.SchemaManagementException: Schema-validation: "
                "missing table [job_schedule]\n"
            ],
            "schema_mismatch",
        ),
        (
            ["integration_state]; found [varchar (Types#VARCHAR)], but expecting [int4 (Types#INTEGER)]\n"],
            "schema_mismatch",
        ),
        (
            [
                "io.realm.exceptions.RealmMigrationNeededException: Migration is required due to the following "
                "errors:\n",
                "- Property 'Track.rating' has been added.\n",
            ],
            "schema_mismatch",
        ),
        (
            [
                "CRITICAL Record does not pass schema validation: Additional properties are not allowed ('archived', "
                "'lead' were unexpected)\n"
            ],
            "schema_mismatch",
        ),
        (["curl error: The command exited with a non-zero status.\n", "curl exit code was 6\n"], "transient_network"),
        # ---------------- batch 88
        (
            [
                "E   hypothesis.errors.Flaky: Unreliable test timings! On an initial run, this test took 1834.10ms, "
                "which exceeded the deadline of 500.00ms, but on a subsequent run it took 0.64 ms, which did not.\n"
            ],
            "timeout",
        ),
        (
            [
                "Error: The template is not valid. .github/workflows/ci.yml (Line: 52, Col: 14): "
                "hashFiles('**/package-lock.json') couldn't finish within 120 seconds.\n"
            ],
            "timeout",
        ),
        (
            [
                "Unable to install /build/app/build/outputs/apk/app-debug.apk\n",
                "com.android.ddmlib.InstallException\n",
                "\tat com.android.ddmlib.Device.installPackages(Device.java:927)\n",
                "Caused by: com.android.ddmlib.ShellCommandUnresponsiveException\n",
                "\tat com.android.ddmlib.AdbHelper.executeRemoteCommand(AdbHelper.java:408)\n",
            ],
            "timeout",
        ),
        (
            [
                "09:12:40  info  sonarExecuteScan - Caused by: Not authorized. Analyzing this project requires to be "
                "authenticated. Please provide the values of the properties sonar.login and sonar.password.\n"
            ],
            "credentials",
        ),
        (
            [
                'Error: Cannot invoke "io.example.runner.TaskRunner.getType()" because the return value of '
                '"io.example.exec.ScriptTask.getTaskRunner()" is null\n'
            ],
            "code_bug",
        ),
        (
            [
                "sync version of the target (3) does not match sync version supported by client (2). "
                "Please upgrade your client.\n"
            ],
            "schema_mismatch",
        ),
        (["同步失败：数据库错误：数据库版本过新（12），当前应用仅支持9，请升级应用后再尝试。\n"], "schema_mismatch"),
        (
            [
                "RuntimeError: Error(s) in loading state_dict for DataParallel:\n",
                '\tUnexpected key(s) in state_dict: "module.head.0.weight", "module.head.0.bias".\n',
            ],
            "schema_mismatch",
        ),
        (
            [
                'Missing key(s) in state_dict: "decoder.1.weight", "decoder.1.bias".\n',
                'Unexpected key(s) in state_dict: "classifier.1.weight", "classifier.1.bias".\n',
            ],
            "schema_mismatch",
        ),
        (
            [
                "  18 label(s)\n",
                "  0 missing value(s) (tokens with '-' label)\n",
                "  \u2718 3 invalid whitespace entity spans\n",
                "  \u2714 Good amount of examples for all labels\n",
            ],
            "data_quality",
        ),
        (["ERROR: SoftmaxMultiClassObj: label exceed num_class\n"], "data_quality"),
        (
            [
                "2019-03-01 02:10:11 +0000 [warn]: temporarily failed to flush the buffer. next_retry=2019-03-01 "
                '02:10:26 +0000 error_class="JSON::GeneratorError" error="source sequence is illegal/malformed utf-8" '
                'plugin_id="object:3f"\n'
            ],
            "data_quality",
        ),
        # ---------------- batch 89
        (
            [
                '  File "tornado\\platform\\select.py", line 63, in poll\n',
                "    self.read_fds, self.write_fds, self.error_fds, timeout)\n",
                "ValueError: too many file descriptors in select()\n",
            ],
            "resource_exhausted",
        ),
        (
            [
                "京东商城-图书: 失败, 原因: Cookie失效‼️\n",
                "京东商城-健康: 成功, 明细: 2京豆\n",
                "京东商城-服饰: 失败, 原因: Cookie失效‼️\n",
            ],
            "credentials",
        ),
        (
            [
                "INFO {\n",
                '  "result": "Failed",\n',
                "  \"message\": \"{'data': None, 'message': '登录失效，请重新登录', 'retcode': -100}\"\n",
                "}\n",
            ],
            "credentials",
        ),
        (['{"data":null,"message":"尚未登录","retcode":-100} ERROR 账号Cookie有问题！\n'], "credentials"),
        (["KeyError: \"The cache has no package named 'ros-noetic-rosbridge-msgs'\"\n"], "dependency"),
        (
            [
                "...... Error in full usersync: Error writing to database (Data too long for column 'phone1' at row 1"
                "\n",
                "UPDATE mdl_user SET phone1 = ?,timemodified = ? WHERE id=?\n",
            ],
            "data_quality",
        ),
        # ---------------- batch 90
        (
            [
                "N E X T F L O W  ~  version 21.10.6\n",
                "WARN: Nextflow self-contained distribution only allows default plugins -- User config plugins will "
                "be ignored: nf-schema@2.0.0\n",
                "Module path must start with / or ./ prefix -- Offending module: plugin/nf-schema\n",
            ],
            "dependency",
        ),
        # ---------------- batch 91
        (["Error: Runtime exited with error: signal: alarm clock Runtime.ExitError\n"], "timeout"),
        (["shutdown (reason: CPU time limit reached)\n"], "timeout"),
        (
            [
                "Warnings: [Failed to create a snapshot: System.UnauthorizedAccessException: Attempted to perform an "
                "unauthorized operation.\n",
                "at Alphaleonis.Win32.Vss.VssBackupComponents..ctor()\n",
                "at Alphaleonis.Win32.Vss.VssImplementation.CreateVssBackupComponents()\n",
            ],
            "permission_denied",
        ),
        (
            [
                "System.UnauthorizedAccessException: Access is denied. (Exception from HRESULT: 0x80070005 "
                "(E_ACCESSDENIED))\n",
                "   at Microsoft.Win32.TaskScheduler.TaskFolder.RegisterTaskDefinition(String path, TaskDefinition "
                "definition)\n",
            ],
            "permission_denied",
        ),
        (
            [
                "14:31:06.874 [pool-2-thread-790] FATAL-ALERT gov.cdc.prime.router.azure.SendFunction - FAILED POST of "
                "inputReportId 8399 to apiUrl=https://api.example.gov/ECLRSPOST, Exception: Received fatal alert: "
                "certificate_expired, All retries failed. Manual Intervention Required.\n",
            ],
            "credentials",
        ),
        (
            [
                "Oct 19 10:05:06 host CROND[740881]: (zuritat) CMDOUT (Error: mutt-wizard-dsolutions is not in the "
                "password store.)\n",
                "Oct 19 10:05:06 host CROND[740881]: (zuritat) CMDOUT (Skipping account dsolutions-remote, password "
                "command exited with status 1)\n",
            ],
            "credentials",
        ),
        (["Error: oauth_listener() needs an interactive environment.\n", "Execution halted\n"], "credentials"),
        (
            [
                "2022-07-14 01:22:42,419 - 284665 - hummingbot.connector.derivative.bitmex_perpetual - ERROR - There "
                "was an error requesting exchange info (Error executing request GET /instrument. HTTP status is 503. "
                "Error: <html>\n",
                "<head>\n",
            ],
            "transient_network",
        ),
        (
            [
                "Gem::Ext::BuildError: ERROR: Failed to build gem native extension.\n",
                "    /usr/bin/ruby2.1 extconf.rb\n",
                "mkmf.rb can't find header files for ruby at /usr/lib/ruby/include/ruby.h\n",
                "extconf failed, exit code 1\n",
            ],
            "dependency",
        ),
        (["mkmf.rb can't find header files for ruby at /usr/lib/ruby/include/ruby.h\n"], "dependency"),
        (
            [
                "make: *** [C:/PROGRA~1/R/R-43~1.0/etc/x64/Makeconf:272: tsne.o] Error 1\n",
                "ERROR: compilation failed for package 'scClust'\n",
                "* removing 'C:/Program Files/R/R-4.3.0/library/scClust'\n",
            ],
            "dependency",
        ),
        (
            [
                'ERROR the "date" front matter field is not a parsable date: see /home/u/repos/site/hugo/content/'
                "guides/index.md\n",
            ],
            "data_quality",
        ),
        # ---------------- batch 92
        (
            [
                "    01:05 +165 -1: [Dartium Content Shell] loading test/ui_components_test.dart\n",
                '      Failed to load "test/ui_components_test.dart": Timed out waiting for the test suite to '
                "connect.\n",
            ],
            "timeout",
        ),
        (["Error: Could not find gdcc/base:6.7-noble-r-1 in the registry\n"], "upstream_missing"),
        (
            [
                "Invalid workflow file: .github/workflows/build.yml#L7\n",
                "The workflow is not valid. .github/workflows/build.yml (Line: 7, Col: 3):\n",
                "    Error calling workflow 'org/actions/.github/workflows/update.yml@master'.\n",
                "    The nested job 'build' is requesting 'contents: write', but is only allowed 'contents: read'.\n",
            ],
            "permission_denied",
        ),
        (
            ['Error: ResponseData { code: 137022, data: None, message: "投稿过于频繁，请稍后再试", ttl: Some(1) }\n'],
            "throttled",
        ),
        (["转存出现    频繁请求，被115限制 （立即停止，尝试停止操作半小时或者重新登录）：Not Allowed\n"], "throttled"),
        (
            [
                "Error using BatchToken/consumeTokenData\n",
                "  Current time (03-Jan-2023 14:04:49) for token from license 40847642 is NOT in\n",
                "  the time range for this token (02-Jan-2022 09:17:07 to 03-Jan-2023 09:17:07)\n",
                "  Error in BatchToken.enableTokenLicenses\n",
            ],
            "credentials",
        ),
        (
            [
                "ERROR 2014-09-22 08:57:50,654 [5088, 1, (null)] Spotfire.Dxp.Web.SiteManager - Failed to initialize "
                "the Scheduled Updates\n",
                "System.ComponentModel.Win32Exception (0x80004005): Logon failure: unknown user name or bad password\n",
                "at Spotfire.Dxp.Framework.Login.WindowsIntegratedAuthenticator.LogonUserOnComputer(String username, "
                "String password)\n",
            ],
            "credentials",
        ),
        (
            [
                "+ bpkg-stage --fetch-timeout 600 build --for install --yes --plan= build2 bpkg bdep\n",
                "error: unable to satisfy constraint (build2 >= 0.13.0) for package build2\n",
                "  info: available build2 version is 0.12.0\n",
            ],
            "dependency",
        ),
        (
            [
                "$ mix deps.compile hackney\n",
                "ERROR: OTP release 18 does not match required regex R15|R16|17\n",
                "==> hackney (compile)\n",
                "ERROR: compile failed while processing /hackney: rebar_abort\n",
            ],
            "dependency",
        ),
        (
            [
                "=ERROR REPORT==== 18-Jun-2022::12:33:22.907719 ===\n",
                "beam/beam_load.c(551): Error loading function rebar3:parse_args/1: op put_tuple u x:\n",
                "  please re-compile this module with an Erlang/OTP 25 compiler\n",
                "\n",
                "escript: exception error: undefined function rebar3:main/1\n",
                "  in function  escript:run/2 (escript.erl, line 750)\n",
                '** (Mix) Could not compile dependency :unicode_util_compat, "rebar3 bare compile" command failed.\n',
            ],
            "dependency",
        ),
    ],
)
def test_batch_family(lines: list[str], category: str) -> None:
    assert diagnose_lines(lines, use_model=False).category == category


def test_gits_403_stays_a_permission_while_curls_own_reads_as_githubs_hourly_limit() -> None:
    # batch 72: curl's bare 403 was GitHub's anonymous per-address limit in every bench log with it; git's "unable to
    # access" 403 (a push without the right to the repository) is not that guess
    lines = [
        "remote: Permission to example/etl.git denied to github-actions[bot].\n",
        "fatal: unable to access 'https://github.com/example/etl/': The requested URL returned error: 403\n",
    ]
    assert diagnose_lines(lines, use_model=False).category == "permission_denied"
    got = diagnose_lines(["curl: (22) The requested URL returned error: 403\n"], use_model=False)
    assert got.category == "throttled"
    assert got.confidence < 0.8


def test_kubelets_backoff_is_no_rate_limit() -> None:
    # kubelet's BackOff event is its own delay between image pulls; the registry behind it was down (batch 34)
    lines = [
        "  4m    1m      4       kubelet, ip-172-16-6-80.ec2.internal    spec.containers{homu}   Normal  BackOff     "
        '    Back-off pulling image "172.30.16.196:5000/projectatomic-ci-infra/homu@sha256:\n',
        '020db746d5994856b6902316c2a9ef63e97fec8f366531b6acd34cd51a62f671"\n',
    ]
    assert diagnose_lines(lines, use_model=False).category != "throttled"


def test_a_queued_task_failed_by_the_executor_is_only_a_guess() -> None:
    # Airflow asks "Was the task killed externally?" of a task that never started as often for a package missing on
    # the worker as for a kill (batches 4 and 36), so the rules say so below the confidence the model never questions
    lines = [
        "ERROR - Executor reports task instance <TaskInstance: sales.load scheduled__2024-02-01T00:00:00+00:00 "
        "[queued]> finished (failed) although the task says it's queued. (Info: None) Was the task killed "
        "externally?\n"
    ]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "killed_external"
    assert got.confidence < 0.75


def test_pythons_words_for_a_programs_mistake_are_the_rules_answer_but_not_a_confident_one() -> None:
    # at the first runs of batches 5-37, "object has no attribute" and its kin meant a code bug 32 times in 45 (the
    # rest: a library of another version, bad values, an answer without the field read), so below 0.8; still at
    # or above the line under which the learned model may overrule the rules
    lines = [
        "Traceback (most recent call last):\n",
        '  File "/opt/etl/load.py", line 41, in run\n',
        "    table = client.dataset(name).Table(table_id)\n",
        "AttributeError: 'NoneType' object has no attribute 'Table'\n",
    ]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "code_bug" and got.rule_id == "code.runtime_message"
    assert learned.load().rules_sure <= got.confidence < 0.8
    sql = diagnose_lines(['psycopg2.errors.SyntaxError: syntax error at or near "SELEC"\n'], use_model=False)
    assert sql.category == "code_bug" and sql.rule_id == "code.sql_syntax" and sql.confidence >= 0.8


def test_a_statement_time_limit_is_no_kill() -> None:
    # MySQL 5.7's max_execution_time and MariaDB's max_statement_time word the same 1317-like interruption with the
    # limit named: the statement's own time limit, not a kill from outside
    lines = ["ERROR 3024 (HY000): Query execution was interrupted, maximum statement execution time exceeded\n"]
    assert diagnose_lines(lines, use_model=False).category == "timeout"


def test_a_quota_of_requests_per_minute_stays_a_rate_limit() -> None:
    # Google Cloud names its quotas; one counted per unit of time is a rate limit whatever else the name says
    lines = [
        "googleapi: Error 429: Quota limit 'ReadRequestsPerMinutePerProject' has been exceeded. Limit: 300 in "
        "region us-central1.\n"
    ]
    assert diagnose_lines(lines, use_model=False).category == "throttled"


def test_oracles_answer_for_an_object_not_granted_is_only_a_guess() -> None:
    # ORA-00942 is also Oracle's answer for a table that is not there: permission_denied, kept below 0.8
    got = diagnose_lines(["ORA-00942: table or view does not exist\n"], use_model=False)
    assert got.category == "permission_denied" and got.confidence < 0.8


def test_a_login_that_cannot_find_its_key_file_is_the_credentials_not_a_missing_input() -> None:
    # DVC's GDrive remote (batch 50): the file not found is the credentials file, so the upstream rules stand aside
    # and the rules' answer is sure enough that the model does not overrule it
    lines = [
        "ERROR: failed to pull data from the cloud - Failed to authenticate GDrive remote: [Errno 2] No such file or "
        "directory:\n"
    ]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "credentials" and got.confidence >= learned.load().rules_sure


def test_pbs_aborting_a_job_at_its_walltime_is_no_abort_by_a_person() -> None:
    # Jenkins' "Aborted by <user>" is a person; PBS' "Aborted by PBS Server" names its own limit (batch 22)
    lines = ["Aborted by PBS Server\n", "Job exceeded its walltime limit. Job was aborted\n"]
    assert diagnose_lines(lines, use_model=False).rule_id != "killed.aborted_by_user"


def test_a_deadline_the_http_client_hit_waiting_for_headers_stays_the_network() -> None:
    # Go's plain "context deadline exceeded" is the caller's own time limit (batch 52: 16 of 21 bench logs so
    # labelled); with the HTTP client's "awaiting headers" it is a remote end that did not answer (batches 25, 32)
    lines = [
        'Get "https://charts.example.com/index.yaml": context deadline exceeded (Client.Timeout exceeded while '
        "awaiting headers)\n"
    ]
    assert diagnose_lines(lines, use_model=False).category == "transient_network"


def test_a_lower_case_key_missing_from_a_dict_is_the_codes_own_mistake() -> None:
    # a KeyError names a secret taken from the environment only in an environment variable's upper-case spelling
    # (batch 54); a lower-case key of a dict the code built stays the code's
    lines = ["Traceback (most recent call last):\n", '  File "sync.py", line 8, in <module>\n', "KeyError: 'token'\n"]
    assert diagnose_lines(lines, use_model=False).category == "code_bug"


def test_a_data_file_missing_is_no_missing_header_for_all_its_h_suffix() -> None:
    # a compiler's "fatal error: x.h: No such file" is a library's -dev package not installed (batch 56); a data file
    # that is not there stays a missing input
    lines = ["cat: /data/in/part-0001.h: No such file or directory\n"]
    assert diagnose_lines(lines, use_model=False).category == "upstream_missing"


def test_gunicorns_memory_guess_stands_without_its_timeout() -> None:
    # after WORKER TIMEOUT the SIGKILL is gunicorn's --timeout (batch 57); a kill it logs with no timeout before it
    # keeps the memory reading its message gives
    lines = ["[2026-02-01 03:10:02 +0000] [8] [ERROR] Worker (pid:12) was sent SIGKILL! Perhaps out of memory?\n"]
    assert diagnose_lines(lines, use_model=False).category == "oom"


def test_djangos_system_check_is_no_data_check() -> None:
    # a data check's CheckError (ESMValCore's CMOR checks, batch 52) is bad values; Django's SystemCheckError is the
    # service's own settings (batch 57: a directory it may not write)
    lines = ["SystemCheckError: System check identified some issues:\n", "?: MEDIA_ROOT is not writeable\n"]
    assert diagnose_lines(lines, use_model=False).category != "data_quality"
    cmor = ["esmvalcore.cmor.check.CMORCheckError: There were errors in variable tas:\n"]
    assert diagnose_lines(cmor, use_model=False).category == "data_quality"


def test_the_jvms_report_of_a_thread_it_could_not_start_is_no_heap_it_could_not_commit() -> None:
    # the JVM heads both fatal-error reports with "insufficient memory for the Java Runtime Environment" (batch 62:
    # the heap it was given could not be committed, memory); "Cannot create GC thread" under it is a thread limit
    lines = [
        "# There is insufficient memory for the Java Runtime Environment to continue.\n",
        "# Cannot create GC thread. Out of system resources.\n",
    ]
    assert diagnose_lines(lines, use_model=False).category == "resource_exhausted"


def test_a_shell_script_missing_from_a_bin_directory_is_no_missing_package() -> None:
    # a program a script calls from a bin directory that lacks it is the environment's (batch 64: an image without
    # pip for one of its interpreters); a shell script of the job's own that is not there is no package to install
    lines = ["/usr/local/bin/load-partitions.sh: No such file or directory\n"]
    assert diagnose_lines(lines, use_model=False).category != "dependency"


def test_mysqls_unknown_column_under_pymysqls_internal_error_is_no_network_error() -> None:
    # PyMySQL raises MySQL's 1054 as InternalError, a name the network rules read as a server's own failure (batch
    # 65): printed above the traceback (the family test) or on its last line, as here, the missing column is the
    # schema's
    lines = [
        "Traceback (most recent call last):\n",
        '  File "tokenserver/views.py", line 21, in handle\n',
        "    cur.execute(query)\n",
        "pymysql.err.InternalError: (1054, \"Unknown column 'keys_changed_at' in 'field list'\")\n",
    ]
    assert diagnose_lines(lines, use_model=False).category == "schema_mismatch"


def test_an_allocation_quota_in_a_429_body_stays_capacity() -> None:
    # Google answers a per-window rate quota and an allocation quota both with 429 RESOURCE_EXHAUSTED; its generic
    # "Resource has been exhausted (e.g. check quota)" is the rate limit's (batch 68), a quota metric named over
    # its limit stays capacity (batch 60: a project's GPUs)
    lines = [
        '"error": {\n',
        '    "code": 429,\n',
        '    "message": "The following quota metrics exceed quota limits: '
        'aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus",\n',
        '    "status": "RESOURCE_EXHAUSTED"\n',
        "  }\n",
    ]
    assert diagnose_lines(lines, use_model=False).category == "resource_exhausted"


def test_a_child_process_result_that_did_not_time_out_is_no_timeout() -> None:
    # Node tools print execa's result object for a failed command, `timedOut: false` and `killed: false` among its
    # fields (batch 73: a push a protected branch refused); neither is a time limit or a kill
    lines = [
        "[semantic-release] An error occurred while running semantic-release: Error: Command failed with exit code 1\n",
        "  stderr: 'remote: error: GH006: Protected branch update failed for refs/heads/main.\\n' +\n",
        "  failed: true,\n",
        "  timedOut: false,\n",
        "  isCanceled: false,\n",
        "  killed: false,\n",
    ]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "permission_denied"
    assert got.confidence >= 0.75
    assert (
        diagnose_lines(["Build timedout\n", "Build was timedout after 5h0m0s\n"], use_model=False).category == "timeout"
    )


def test_a_duplicate_key_below_the_types_largest_value_stays_bad_data() -> None:
    # an id at its integer type's largest value is the id space used up (batch 73); any other duplicate is the data's
    lines = ["IntegrityError: (1062, \"Duplicate entry '2147483646' for key 'PRIMARY'\")\n"]
    assert diagnose_lines(lines, use_model=False).category == "data_quality"


def test_a_node_without_free_memory_to_schedule_on_stays_capacity() -> None:
    # Kubernetes' "Insufficient memory" is a scheduler with no node to place a pod on; Greenplum's "insufficient
    # memory reserved for statement" (batch 73) is the statement's own memory
    lines = ["Warning  FailedScheduling  0/3 nodes are available: 3 Insufficient memory.\n"]
    assert diagnose_lines(lines, use_model=False).category == "resource_exhausted"


def test_ec2s_request_limit_is_a_rate_not_capacity() -> None:
    # EC2's RequestLimitExceeded is its API's request rate (batch 76); resource.message's "LimitExceeded" (an
    # account's limit of instances, addresses) made it a close call the model settled as capacity
    lines = [
        "Failed to create new EC2 instance: An error occurred (RequestLimitExceeded) when calling the RunInstances "
        "operation (reached max retries: 4): Request limit exceeded.\n"
    ]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "throttled"
    assert got.confidence >= 0.75
    lines = ["An error occurred (VcpuLimitExceeded) when calling the RunInstances operation\n"]
    assert diagnose_lines(lines, use_model=False).category == "resource_exhausted"


def test_an_ssh_handshake_cut_off_stays_the_network() -> None:
    # only a host key that differs from the known one is the identity's (batch 76)
    lines = ["Error: unable to clone 'ssh://git@github.com/org/fleet': ssh: handshake failed: EOF\n"]
    assert diagnose_lines(lines, use_model=False).category == "transient_network"


def test_a_connection_refused_by_the_network_stays_the_network() -> None:
    # only an MQTT broker's refusal of the login is the identity's (batch 78)
    lines = ["MQTT error: connect ECONNREFUSED 10.0.4.7:1883: Connection refused\n"]
    assert diagnose_lines(lines, use_model=False).category == "transient_network"


def test_a_canceled_operation_without_a_time_limit_stays_killed() -> None:
    # Azure Pipelines' cancel line reads as the job's own time limit only beside that limit's line (batch 78)
    lines = ["##[error]The operation was canceled.\n"]
    assert diagnose_lines(lines, use_model=False).category == "killed_external"


def test_a_jobs_own_time_limit_wins_over_the_cancel_that_follows_it() -> None:
    # Azure Pipelines prints "The operation was canceled." after a job ran past its timeoutInMinutes (batch 78): the
    # two lines were a close call, and a build summary's "failed" above them tipped it to killed_external
    lines = [
        "- **Build result:** `failed`\n",
        "##[error]The job running on agent Hosted Agent 7 has exceeded the maximum execution time of 60 minutes.\n",
        "##[error]The operation was canceled.\n",
    ]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "timeout"
    assert got.confidence >= 0.7


def test_a_file_not_found_for_want_of_descriptors_is_the_descriptors() -> None:
    # "was not found: Too many open files" (batch 78): the open failed on the process's file limit, not on a
    # missing file; read as both, the close call let the model name a missing input
    lines = ["Script file /srv/maps/harbour.map was not found: Too many open files\n"]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "resource_exhausted"
    assert got.confidence >= 0.75


def test_rclones_pacer_line_after_a_retry_is_no_rate_limit() -> None:
    # rclone's pacer says "Rate limited, increasing sleep" after retrying any error (batch 80: a connection cut by a
    # wifi blip); a limit the remote states is still one
    lines = [
        '2024/03/01 10:00:01 DEBUG : pacer: low level retry 1/10 (error Put "https://s3.example.com/b/k": write tcp '
        "10.0.0.2:5123->52.1.2.3:443: wsasend: An existing connection was forcibly closed by the remote host.)\n",
        "2024/03/01 10:00:01 DEBUG : pacer: Rate limited, increasing sleep to 10ms\n",
    ]
    assert diagnose_lines(lines, use_model=False).category == "transient_network"
    lines = [
        "2024/03/01 10:00:01 DEBUG : pacer: low level retry 1/10 (error googleapi: Error 403: User Rate Limit "
        "Exceeded, userRateLimitExceeded)\n",
        "2024/03/01 10:00:01 DEBUG : pacer: Rate limited, increasing sleep to 1.5s\n",
    ]
    assert diagnose_lines(lines, use_model=False).category == "throttled"


def test_a_source_files_line_number_is_no_http_status() -> None:
    # a Go logger's 'source="collector.go:403"' (batch 80) is a line of code, not a 403
    lines = ['level=error msg="Errors getting fans: unexpected end of JSON input" source="chassis_collector.go:403"\n']
    assert diagnose_lines(lines, use_model=False).category != "permission_denied"
    lines = ["urllib.error.HTTPError: HTTP Error 403: Forbidden\n"]
    assert diagnose_lines(lines, use_model=False).category == "permission_denied"


def test_a_preemptible_templates_name_is_no_preemption() -> None:
    # a Terraform module named "...-preemptible-template" (batch 83) printed under a missing image's 404: the word
    # names the kind of VM, not a VM that was preempted
    lines = [
        "Error: error retrieving image information: googleapi: Error 404: The resource "
        "'projects/centos-cloud/global/images/family/centos-6' was not found, notFound\n",
        "  on .terraform/modules/etl-preemptible-template.vm/modules/instance_template/main.tf line 25, in data:\n",
    ]
    assert diagnose_lines(lines, use_model=False).category == "upstream_missing"
    lines = ["The node was preempted by Compute Engine; the task will be retried\n"]
    assert diagnose_lines(lines, use_model=False).category == "killed_external"


def test_a_mysql_error_under_trilogys_protocolerror_is_the_servers_answer() -> None:
    # Trilogy raises ProtocolError for every error MySQL answers with (batch 84: a duplicate entry while adding an
    # index); a MySQL error it names is no network trouble, while the same class without a server code still is
    lines = ["Trilogy::ProtocolError: 1045: Access denied for user 'etl'@'10.0.0.4' (using password: YES)\n"]
    assert diagnose_lines(lines, use_model=False).category != "transient_network"
    lines = ["urllib3.exceptions.ProtocolError: ('Connection aborted.', ConnectionResetError(104, 'reset by peer'))\n"]
    assert diagnose_lines(lines, use_model=False).category == "transient_network"


def test_a_gateways_own_page_saying_the_server_is_slow_stays_the_network() -> None:
    # "is taking too long" is a timeout when the service says its own work outran its wait (batch 84); a proxy's page
    # about a server that is taking too long to respond is the remote side, as 504s are read elsewhere
    lines = ["HTTP 504: the upstream server is taking too long to respond\n"]
    assert diagnose_lines(lines, use_model=False).category == "transient_network"


def test_a_program_the_shell_cannot_find_stays_a_missing_program() -> None:
    # batch 85: a number or a timestamp run as a command is a script's broken quoting (code.shell_syntax); a named
    # program the shell does not find is still a missing dependency
    for program in ("aws", "7z"):
        lines = [f"/opt/jobs/sync.sh: line 12: {program}: command not found\n"]
        assert diagnose_lines(lines, use_model=False).category == "dependency"


def test_a_program_the_jvm_cannot_start_in_a_directory_that_is_gone_is_no_missing_program() -> None:
    # batch 86: Java's 'Cannot run program "x": error=2' is a program that is not there; with "(in directory ...)"
    # the missing file may be the working directory, so that form is not read as a dependency
    lines = ['java.io.IOException: Cannot run program "git" (in directory "/work/gone"): error=2, No such file\n']
    assert diagnose_lines(lines, use_model=False).category != "dependency"


def test_a_refused_rabbitmq_login_stays_a_credentials_failure() -> None:
    # batch 86: RabbitMQ's ACCESS_REFUSED on a queue is a missing permission; the same code for a login is the password
    lines = [
        "com.rabbitmq.client.AuthenticationFailureException: ACCESS_REFUSED - Login was refused using authentication "
        "mechanism PLAIN. For details see the broker logfile.\n"
    ]
    assert diagnose_lines(lines, use_model=False).category == "credentials"


def test_mongodbs_server_error_is_the_servers_answer_not_the_network() -> None:
    # batch 86: the Node driver's MongoServerError wraps every error the server answers with
    lines = ["MongoServerError: E11000 duplicate key error collection: shop.orders index: _id_ dup key: { _id: 7 }\n"]
    assert diagnose_lines(lines, use_model=False).category != "transient_network"


@pytest.mark.parametrize(
    ("lines", "category"),
    [
        # MySQL's 1142 arrives as SQLSyntaxErrorException, which read as a syntax error beside it
        (
            [
                "java.sql.SQLSyntaxErrorException: SELECT command denied to user 'etl'@'10.2.0.7' for table "
                "'user_variables_by_thread'\n"
            ],
            "permission_denied",
        ),
        # Azure SDK's "operation was cancelled" at its own network timeout, which read as a cancelled job beside it
        (
            [
                "error : AggregateException: Retry failed after 6 tries. (The operation was cancelled because it "
                "exceeded the configured timeout of 0:01:40. Network timeout can be adjusted in "
                "ClientOptions.Retry.NetworkTimeout.) (Connection timed out (jobs.example.net:443))\n"
            ],
            "transient_network",
        ),
    ],
)
def test_a_cause_no_longer_contradicted_is_sure_enough_for_the_model_to_keep(lines: list[str], category: str) -> None:
    # batch 86: the rules named the cause at 0.55 with a second category beside it, and the model then overrode them
    got = diagnose_lines(lines, use_model=False)
    assert got.category == category and got.confidence >= learned.load().rules_sure


def test_a_null_dereference_named_by_its_type_is_answered_by_the_type_alone() -> None:
    # batch 88: Java's own words for a null dereference answer when no type is printed; with the type named, the
    # type's rule answers as before, below the confidence from which the model is no longer asked
    lines = [
        'java.lang.NullPointerException: Cannot invoke "scala.Option.map(scala.Function1)" because "meta" is null\n'
    ]
    got = diagnose_lines(lines, use_model=False)
    assert got.category == "code_bug" and got.confidence < learned.load().rules_sure
