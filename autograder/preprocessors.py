"""nbgrader preprocessors the course adds to grading and feedback."""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from nbgrader import utils


class StderrNotFatal(Preprocessor):
    """nbgrader zeroes a test cell that wrote anything to stderr (a library warning is
    enough). Turn stderr text of grade cells into stdout text marked as a warning, so only an
    error (a failed check) costs points."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    out["name"] = "stdout"
                    text = out.get("text", "")
                    out["text"] = "".join(f"[warning] {line}\n" for line in text.splitlines())
        return cell, resources
