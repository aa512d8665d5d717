"""The instructor's side of the course: release the student skeleton, grade submissions with the project's own
checks, pack the deliverable.

    python -m instructor release OUT_DIR [--offering NAME]
    python -m instructor grade SUBMISSION_DIR... [--offering NAME] [--json PATH] [--csv PATH] [--staff-tests PATH]
                                                [--jobs N]
    python -m instructor pack [--offering NAME] --name LASTNAME
"""
