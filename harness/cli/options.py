"""Options shared by several commands, defined once: a cell's options (run, sweep) and a launcher's (sweep, study run)."""

from __future__ import annotations

from pathlib import Path

import click

from harness.compute.speed import help_text as speed_help


#: Options of every cell, shared by `run` and `sweep` (each applies to every cell of a sweep).
CELL_OPTIONS = [
    click.option("--output", default="xharness-runs", show_default=True,
                 type=click.Path(file_okay=False, path_type=Path),
        help="Folder for phase checkpoints and run results."),
    click.option("--data-dir", default=None, type=click.Path(path_type=Path),
        help="Read task data from local files in their original layout instead of the hub."),
    click.option("--preset", default=None, help="'smoke': tiny model, bundled samples, a few dozen steps."),
    click.option("--languages", default=None,
        help="Comma-separated languages of the target (its own by default; a benchmark's added languages too), "
                   "or a leaderboard name for that benchmark's set, e.g. xtreme-r."),
    click.option("--lr", type=float, default=None, help="Learning rate [default: 1e-5]."),
    click.option("--batch-size", type=int, default=None, help="Effective batch size [default: per task, 32]."),
    click.option("--per-device-batch-size", type=int, default=None,
        help="Largest batch per device; the rest is gradient accumulation [default: 32]."),
    click.option("--max-length", type=int, default=None, help="Maximum tokens per input [default: 256]."),
    click.option("--weight-decay", type=float, default=None, help="AdamW weight decay [default: 0.01]."),
    click.option("--warmup-ratio", type=float, default=None, help="Fraction of steps for linear warm-up [default: 0.1]."),
    click.option("--inter-epochs", type=float, default=None, help="Epochs of intermediate training [default: 3]."),
    click.option("--target-epochs", type=float, default=None, help="Epochs of target training [default: per task]."),
    click.option("--sampling", default=None,
        help="Several --inter tasks: draw batches 'proportional' to task size, by 'temperature', or "
                   "'uniform' [default: proportional]."),
    click.option("--temperature", type=float, default=None, help="Temperature for --sampling temperature [default: 2]."),
    click.option("--max-examples-per-task", type=int, default=None,
        help="Cap on a task's size when weighting the sampler [default: none]."),
    click.option("--validation-examples", type=int, default=None,
        help="Several --inter tasks: dev examples per task used to pick the best state [default: 500]."),
    click.option("--mlm", default=None,
        help="Continue masked-LM training on this multilingual corpus during intermediate training: a text "
                   "file or folder of .txt files (a sentence or document a line), or a hub dataset name[:config]."),
    click.option("--mlm-weight", type=float, default=None, help="Share of batches given to --mlm [default: 0.25]."),
    click.option("--translated", default=None,
        help="Train the intermediate task(s) on machine-translated data in this language, or on the union "
                   "of several (comma-separated; 'en' adds the English original), or 'all' (each task's own "
                   "translations) (MNLI: XNLI-MT; SQuAD: translate-train); model selection stays on English dev."),
    click.option("--select-on", default=None,
        help="Which dev data picks the fine-tuned target state: 'en' (the training language, the paper's "
                   "protocol), 'target' (mean over the target languages' dev sets, as in Keung et al., 2020) or "
                   "'both' (one training, both selections and their test scores recorded; headline en) "
                   "[default: en]. For targets with dev data in their target languages (pawsx, xnli, udpos, panx, "
                   "mlqa from local files, xcopa)."),
    click.option("--transfer", default=None, metavar="SETTING[,SETTING]",
        help="How the target languages are reached: zero-shot (the paper's protocol: one model trained on "
             "English), translate-train (one model per language, trained on the training data machine-translated "
             "into it), translate-train-all (one model on English and every translation), translate-test (the "
             "English model on test sets translated into English) or few-shot (each language's model continues "
             "on --shots of its own examples) [default: zero-shot]. Translations come from plugins (`xharness "
             "list`). Several, comma-separated, run a cell each."),
    click.option("--shots", default=None, metavar="K[,K]",
        help="--transfer few-shot: target-language examples each language's model trains on; several, "
             "comma-separated, run a cell each."),
    click.option("--shot-seed", type=int, default=None,
        help="--transfer few-shot: which examples are drawn [default: 1]; the drawn ids are recorded."),
    click.option("--shot-seeds", default=None, metavar="N[,N]",
        help="--transfer few-shot: repeat the draw with each of these seeds, a cell each (which shots are drawn "
             "moves scores by several points: Zhao et al., 2021)."),
    click.option("--shot-epochs", type=click.FloatRange(min=0, min_open=True), default=None,
        help=f"--transfer few-shot: epochs over the drawn examples [default: 10]."),
    click.option("--retrieval-layer", type=int, default=None,
        help="Retrieval targets: hidden layer to pool [default: 14 of 24, same relative depth otherwise]."),
    click.option("--pooling", default=None, help="Retrieval targets: 'mean' over tokens or 'cls' [default: mean]."),
    click.option("--setting", multiple=True, metavar="NAME=VALUE",
        help="A setting of the task kind's own (repeatable), e.g. --setting query_max_length=64 for dual-encoder "
                   "targets; `xharness list` shows each kind's settings and defaults."),
    click.option("--data-revision", multiple=True, metavar="NAME=COMMIT",
        help="Read a hub dataset at another commit than the one its task pins (repeatable): TASK=COMMIT for "
                   "the task's own dataset (e.g. xnli=<40-hex commit>), DATASET=COMMIT for every source reading "
                   "that hub dataset (e.g. rajpurkar/squad=<commit>); a branch name is resolved to its commit. "
                   "Recorded in results.json and part of the keys."),
    click.option("--speed", multiple=True, metavar="NAME=VALUE",
        help="How a cell is computed (repeatable; recorded in results.json as environment.speed, never part of a "
             "key, so a finished cell is reused whatever these say; bf16 and fp32 results differ by more than "
             "rounding): " + speed_help() + "."),
    click.option("--checkpoint-minutes", type=click.FloatRange(min=0), default=30.0, show_default=True,
        help="Save the full training state at least this often (and after every epoch); a rerun resumes "
                   "from it. 0: after every update."),
    click.option("--keep-checkpoints", is_flag=True, help="Keep training checkpoints after a phase is finished."),
    click.option("--no-wait", is_flag=True,
        help="If another process is computing a phase this run needs, exit (code 3) instead of waiting."),
]


#: ``--tracker`` of run, sweep and study run: where a run's progress and results also go.
tracker_option = click.option(
    "--tracker", "trackers", default=None, metavar="NAME[,NAME]",
    help="Also send each cell's settings, training curve (loss, learning rate, gradient norm, tokens per second), "
         "dev scores and test scores to these experiment trackers: wandb, mlflow, tensorboard, trackio, or a "
         "plugin's (`xharness list` shows them). Never part of a key; a tracker that fails costs one warning.")


def cell_options(command):
    for option in reversed(CELL_OPTIONS):
        command = option(command)
    return command


#: Options of the commands that launch many cells (``sweep``, ``study run``): where they run.
LAUNCHER_OPTIONS = [
    click.option("--launcher", type=click.Choice(["local", "slurm"]), default="local", show_default=True,
                 help="local: this machine; slurm: job arrays through submitit (`xharness sweep --status` "
                      "follows them; a study is then analysed with `xharness study analyse`)."),
    click.option("--devices", default=None,
                 help="local launcher: one worker per device (e.g. 0,1,2,3 for four GPUs), each taking the next "
                      "missing cell."),
    click.option("--partition", default=None, help="slurm: partition."),
    click.option("--time-limit", type=int, default=24 * 60, show_default=True, help="slurm: minutes per job."),
    click.option("--gpus-per-job", type=int, default=1, show_default=True, help="slurm: GPUs per job."),
    click.option("--account", default=None, help="slurm: account to charge."),
]


def launcher_options(command):
    """Add every launcher option to a command (click applies decorators bottom-up)."""
    for option in reversed(LAUNCHER_OPTIONS):
        command = option(command)
    return command
