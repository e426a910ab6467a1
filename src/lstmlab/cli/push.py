"""`lstmlab-push`: publish a trained model on the Hugging Face Hub.

    lstmlab-push --model logs/pos_ewt/runs/<ts> --repo org/pos-ewt-bilstm            # the run's model/ folder
    lstmlab-push --model logs/nli_cpu/runs/<ts>/model --repo org/nli --private --revision v1
    lstmlab-push --model logs/bilm_ptb/runs/<ts> --repo org/elmo-ptb --dry-run       # list the files; write none

The folder must load (it is read as `Tagger.load` and the others read it); its model card (README.md, written at
training time) is written if missing, and written again naming the repo if it is lstmlab's own; a dry run writes
nothing, and lists the card all the same. Only the export files are uploaded (model.safetensors, config.json,
README.md, and the sentence-transformers files where present), never checkpoints. Then load it anywhere with
`Tagger.load("org/name")` or `--model org/name`.
Needs the `hub` extra (pip install 'lstmlab[hub]') and a login (hf auth login, or HF_TOKEN).
"""

from __future__ import annotations

import argparse
import sys

from lstmlab.cli import options
from lstmlab.cli.command import run_command
from lstmlab.io.hub import push_to_hub


def build_parser() -> argparse.ArgumentParser:
    parser = options.command_parser("lstmlab-push", __doc__)
    parser.add_argument("--model", required=True, help="run directory or exported model folder (of any kind)")
    parser.add_argument("--repo", required=True, help="the Hub model repo, org/name (created if missing)")
    parser.add_argument("--private", action="store_true", help="create the repo private (an existing one is kept)")
    parser.add_argument("--revision", "--branch", dest="revision",
                        help="the branch to push to (created from main if missing; default main)")
    parser.add_argument("--commit-message", help="the commit's message (default: Upload lstmlab <kind> model)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the files that would be uploaded; write nothing, upload nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def work() -> str:
        from lstmlab.tasks import card_details  # here: the tasks import Lightning, which --help need not wait for

        files, url = push_to_hub(args.model, args.repo, private=args.private, revision=args.revision,
                                 commit_message=args.commit_message, dry_run=args.dry_run, card_details=card_details)
        if args.dry_run:
            for file in files:
                print(file)
            missing = [file.name for file in files if not file.exists()]
            written = f" ({', '.join(missing)} written by the push)" if missing else ""
            return f"dry run: {len(files)} files would be uploaded to {args.repo}{written}; nothing written or uploaded"
        return f"{len(files)} files uploaded to {args.repo} ({url})"

    return run_command("lstmlab-push", work)


if __name__ == "__main__":
    sys.exit(main())
