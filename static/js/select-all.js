// The people list: a check box in the table's header selects or clears everyone on this page.
document.addEventListener("DOMContentLoaded", () => {
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    const boxes = () => document.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`);
    const sync = () => {
      const list = [...boxes()];
      all.checked = list.length > 0 && list.every((b) => b.checked);
      all.indeterminate = !all.checked && list.some((b) => b.checked);
    };
    all.hidden = false;
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
    });
    for (const box of boxes()) box.addEventListener("change", sync);
    sync();
  }
});
