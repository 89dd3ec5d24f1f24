"""What a run leaves behind, and what is made from it: results, figures, the report, the page.

folder.py      a run's folder: results.json, model.npz, page.html, the report; made again by `compare report`
results.py     results.json: built from a run's outcome, checked against results.schema.json and for sense
figures.py     the figures: a registry, one function each (file name, size, section, caption, drawing)
document.py    report.md and report.html: the sections, built once as blocks, written twice
drawing.py     what every figure shares: matplotlib, sizes, each implementation's colour
predictions.py the picture `compare predict --show` writes
page/          the drawing page: page.html, page.css and the .js modules, joined with the model
"""
