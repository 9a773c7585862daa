"""Run MOSEv2's official scorer (henghuiding/MOSE-api ``MOSEv2/sam2_rcms/tools/score.py``,
unmodified, checked out outside this repository) and record what it computes.

    python tools/parity/mosev2_score.py --tools /work/refs/MOSE-api/MOSEv2/sam2_rcms/tools \\
        --raw raw.json --workers 1 -- --meta M --ann A --pred P --output OUT

Everything after ``--`` is score.py's own command line. With ``--raw`` its own functions'
unrounded values are saved too: per object the seven numbers ``merge_chunk_results`` returns,
per frame the J, F_new, F lists and the empty-ground-truth flags of ``process_video_chunk``
(the scorer itself writes only numbers rounded to two decimals). ``--workers`` replaces its
``MAX_WORKERS`` (all cores), so speed can be measured at one worker.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", required=True, help="folder holding score.py, metricsv2.py")
    parser.add_argument("--raw", help="write the unrounded values to this JSON file")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("score_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    sys.path.insert(0, args.tools)
    score = importlib.import_module("score")
    score.MAX_WORKERS = args.workers
    frames: dict[str, list] = {}
    objects: dict[str, list] = {}
    if args.raw:
        chunk, merge = score.process_video_chunk, score.merge_chunk_results

        def process(*task):
            result = chunk(*task)
            key = f"{result['vid_name']}_{result['anno_id']}"
            frames.setdefault(key, []).append(result)
            return result

        def merged(results, video, object_id):
            values = merge(results, video, object_id)
            objects[f"{video}_{object_id}"] = [None if v is None else float(v) for v in values]
            return values

        score.process_video_chunk, score.merge_chunk_results = process, merged
    rest = args.score_args[1:] if args.score_args[:1] == ["--"] else args.score_args
    sys.argv = ["score.py", *rest]
    score.main()
    if args.raw:
        names = ("j_list", "f_list", "f_list_", "empty_gt")
        per_frame = {
            key: {
                name: [v for c in sorted(chunks, key=lambda c: c["chunk_start"]) for v in c[name]]
                for name in names
            }
            for key, chunks in frames.items()
        }
        with open(args.raw, "w", encoding="utf-8") as handle:
            json.dump({"objects": objects, "frames": per_frame}, handle, indent=0, sort_keys=True)


if __name__ == "__main__":
    main()
