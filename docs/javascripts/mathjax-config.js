window.MathJax = {
  tex: {inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex|md-nav__link|md-ellipsis"},
  chtml: {fontURL: new URL("mathjax/output/chtml/fonts/woff-v2", document.currentScript.src.replace(/javascripts\/[^/]*$/, "")).href}
};
