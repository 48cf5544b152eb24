// The team pipeline review timer (coaching/review.html): a countdown per rep block,
// Start / Pause / Next rep, the current block highlighted and scrolled into view, the
// whole review's elapsed time against the plan. A block that has been the current one
// is ticked "covered" in the log form, and the elapsed time goes with the log.
// Loaded with defer, no inline script: the site may run a Content Security Policy.
(function () {
  "use strict";

  function format(seconds) {
    var sign = seconds < 0 ? "\u2212" : "";
    var s = Math.abs(seconds);
    var rest = s % 60;
    return sign + Math.floor(s / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function init() {
    var root = document.getElementById("review");
    if (!root) {
      return;
    }
    var printButton = root.querySelector('[data-action="print"]');
    if (printButton) {
      printButton.addEventListener("click", function () {
        window.print();
      });
    }

    var timer = root.querySelector("[data-timer]");
    var blocks = Array.prototype.slice.call(root.querySelectorAll(".rep-block"));
    if (!timer || blocks.length === 0) {
      return;
    }
    var perBlock = (parseInt(root.dataset.minutesPerRep, 10) || 5) * 60;
    var planned = perBlock * blocks.length;
    var clock = timer.querySelector("[data-clock]");
    var elapsedText = timer.querySelector("[data-elapsed]");
    var currentName = timer.querySelector("[data-current-name]");
    var toggle = timer.querySelector('[data-action="toggle"]');
    var next = timer.querySelector('[data-action="next"]');
    var elapsedInput = document.querySelector("[data-elapsed-input]");

    var current = -1;
    var remaining = perBlock;
    var elapsed = 0;
    var handle = null;

    function render() {
      clock.textContent = format(remaining);
      clock.classList.toggle("is-over", remaining < 0);
      elapsedText.textContent = format(elapsed);
      elapsedText.parentElement.classList.toggle("is-over", elapsed > planned);
      if (elapsedInput) {
        elapsedInput.value = String(elapsed);
      }
    }

    function tick() {
      remaining -= 1;
      elapsed += 1;
      render();
    }

    function setRunning(on) {
      if (on && handle === null) {
        handle = window.setInterval(tick, 1000);
      }
      if (!on && handle !== null) {
        window.clearInterval(handle);
        handle = null;
      }
      toggle.textContent = on ? "Pause" : current < 0 ? "Start" : "Resume";
      toggle.setAttribute("aria-pressed", on ? "true" : "false");
    }

    function goTo(index) {
      blocks.forEach(function (block, i) {
        block.classList.toggle("is-current", i === index);
        block.classList.toggle("is-done", i < index);
      });
      current = index;
      if (index >= blocks.length) {
        currentName.textContent = "All reps reviewed";
        setRunning(false);
        toggle.disabled = true;
        next.disabled = true;
        render();
        return;
      }
      var block = blocks[index];
      remaining = perBlock;
      currentName.textContent = block.dataset.name;
      var covered = block.querySelector("[data-covered]");
      if (covered) {
        covered.checked = true;
      }
      next.textContent = index === blocks.length - 1 ? "Finish" : "Next rep";
      block.scrollIntoView({ behavior: "smooth", block: "start" });
      render();
    }

    toggle.addEventListener("click", function () {
      if (current < 0) {
        goTo(0);
        setRunning(true);
        return;
      }
      setRunning(handle === null);
    });
    next.addEventListener("click", function () {
      goTo(current + 1);
    });
    render();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
