"""The knobs of the page detector, one set per path: the still and the live preview.

Several stages read them (the edges and lines of scanner/edges.py, the quads
of scanner/quads.py, and scanner/detect.py, which chooses the working size and
whether to refine and look for a pile's top sheet), so they live apart from
every stage; docs/scanner.md, "Detection", says why each value is what it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class DetectorParams:
    """The knobs of one detection path (still or live); see docs/scanner.md."""

    work_size: int = 640            # longest side of the working image, px
    blur: float = 0.8               # Gaussian sigma before the gradient, working px
    tensor_blur: float = 1.0        # Gaussian sigma of the structure tensor, working px
    edge_low: float = 0.6           # least Canny thresholds on the colour gradient (Lab units
    edge_high: float = 1.2          # per px), raised to noise_factor x the frame's noise
    noise_factor: float = 1.6
    max_peaks: int = 400            # Hough peaks whose side evidence is measured
    max_lines: int = 64             # candidate lines kept: the peaks with the most evidence
    theta_bins: int = 360           # Hough orientation bins over 180 degrees
    vote_spread: float = 6.0        # an edge pixel votes this far (degrees) around its orientation
    min_area: float = 0.008         # smallest page, as a fraction of the frame
    band: float = 3.0               # distance of the near colour samples from a side, px
    step_min: float = 2.0           # colour step (Lab units) that makes an edge pixel a side's
    refine: bool = True             # refine the best quad's sides on the full frame
    top_sheet: bool = True          # look for the top sheet of a pile inside the quad found
    finalists: int = 8              # distinct best quads that ``quads.best_quads`` gives
    page_likeness: bool = True      # rank the finalists again by what is inside (pageness.py)
    recheck_below: float = 0.0      # when the best quad's page likeness is below this, search
    recheck: DetectorParams | None = None   # again with these parameters (keep the likelier;
    #                                         they may in turn look again with their own)


STILL = DetectorParams()
#: The live path's last look, when neither of the first two found anything page-like: the
#: still's search without its full-resolution stages (60-100 ms per 1080p frame; in-sample it ran
#: on 1 of 40 white_on_white_clutter frames, 4 of 48 distractor frames, 6 of 56 hard frames, and
#: found the page under a magazine cover's louder outline, 92030: 0.26 -> 0.96).
LIVE_LAST = replace(STILL, refine=False, top_sheet=False)
#: The live path's second look, for frames where its best quad is not page-like (a page lying
#: white on a white desk among clutter, whose faint sides the 320 px pass does not keep among its
#: lines): a finer working image, wider step bands and more lines. Chosen by a sweep of six
#: settings on the six SmartDoc sample frames (the only one of them to reach >= 0.85 on both
#: background-05 frames), so those frames are in-sample for it; then checked, unchanged, on the
#: in-sample synthetic seeds (docs/scanner.md, "Detection", stage 8).
LIVE_RECHECK = DetectorParams(work_size=480, blur=0.7, max_peaks=200, max_lines=48,
                              theta_bins=180, band=3.0, refine=False, top_sheet=False,
                              finalists=6, recheck_below=0.8, recheck=LIVE_LAST)
#: The preview's path (320 px, 24 lines: 8 ms per 1080p frame; docs/scanner.md, "Detection").
#: It looks again when its best quad's page likeness is below 0.8 (calibration run of
#: scanner/pageness.py: 14 % of true pages, 72 % of wrong finalists; 0.6, 0.8 and 0.95
#: compared on the in-sample seeds: 0.8 took white_on_white_clutter's live mean from 0.877 to
#: 0.895 for a second look on 4 of 40 frames; 0.95 gained 0.002 more for 13 of 40).
LIVE = DetectorParams(work_size=320, blur=0.7, max_peaks=48, max_lines=24, theta_bins=180,
                      band=2.0, refine=False, top_sheet=False, finalists=6,
                      recheck_below=0.8, recheck=LIVE_RECHECK)
