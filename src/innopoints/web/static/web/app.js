// Polls a background job's progress and moves on to its result page when it is done.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("job");
  if (!box) return;
  const bar = document.getElementById("job-progress");
  const text = document.getElementById("job-message");
  const poll = async () => {
    const response = await fetch(box.dataset.jobUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) { text.textContent = response.statusText; return; }
    const job = await response.json();
    bar.value = job.progress;
    text.textContent = `${Math.round(job.progress * 100)}% ${job.message || ""}`;
    if (job.status === "done" && job.result.url) { window.location = job.result.url; return; }
    if (job.status === "failed") { text.textContent = job.message; text.classList.add("error"); return; }
    setTimeout(poll, 700);
  };
  poll();
});
