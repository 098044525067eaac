"""axe-core in a real page: WCAG 2.1 A and AA findings of every impact, one way for every screen."""
from pathlib import Path

AXE_SOURCE = Path(__file__).resolve().parents[1] / "e2e" / "vendor" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' '))}));
}"""


def axe_violations(page, tags=WCAG_21_AA):
    """The page's violations as it is now ([] is a pass). Motion is reduced first, as a user can ask for,
    so no finding is an element caught halfway through a fade (the apps honour prefers-reduced-motion)."""
    page.emulate_media(reduced_motion="reduce")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text())  # evaluated by the driver, so the page's CSP does not apply
    return page.evaluate(_RUN, tags)
