// The lesson editor: the preview follows the Markdown as it is typed, rendered and sanitised by the server (nh3).
document.addEventListener("DOMContentLoaded", () => {
  for (const area of document.querySelectorAll("textarea[data-markdown-preview]")) {
    const target = document.getElementById(area.dataset.markdownPreview);
    const form = area.form;
    if (!target || !form) continue;
    const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    let timer = null;
    area.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const body = new URLSearchParams({ body: area.value });
        const response = await fetch(target.dataset.previewUrl, {
          method: "POST",
          headers: { "X-CSRFToken": token },
          body,
          credentials: "same-origin",
        });
        if (response.ok) target.innerHTML = await response.text();
      }, 400);
    });
  }
});
