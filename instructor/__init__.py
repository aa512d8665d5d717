"""The instructor's side of the course: release the student skeleton, grade submissions with the project's own
checks (here, or on Gradescope's machines), pack the deliverable.

    python -m instructor release OUT_DIR [--offering NAME]
    python -m instructor grade SUBMISSION_DIR... [--offering NAME|auto] [--json PATH] [--csv PATH]
                                                [--staff-tests PATH] [--jobs N]
    python -m instructor gradescope OUT.zip [--offering NAME]
    python -m instructor pack [--offering NAME] --name LASTNAME
"""
