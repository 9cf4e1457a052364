# Reference output of R lme4 + lmerTest + pbkrtest for a model with a nested random intercept
# (one per session within subject), in the JSON layout of the other *.lmertest.json files.
# Run from this folder: Rscript nested_reference.R   (writes timecourse_session.lmertest.json)
suppressMessages({
  library(lmerTest)
  library(pbkrtest)
  library(jsonlite)
})
name <- "timecourse_session"
formula_text <- "value ~ condition*phase + period + (1|subject) + (1|subject:condition)"
d <- read.csv(paste0(name, ".csv"))
d$condition <- relevel(factor(d$condition), ref = "placebo")
d$phase <- factor(d$phase)
d$period <- factor(d$period)
m <- lmer(as.formula(formula_text), data = d, REML = TRUE)

fixed_table <- function(tab, se_name) {
  lapply(seq_len(nrow(tab)), function(i) {
    row <- list(term = rownames(tab)[i], estimate = tab[i, "Estimate"])
    row[[se_name]] <- tab[i, "Std. Error"]
    c(row, list(df = tab[i, "df"], t = tab[i, "t value"], p = tab[i, "Pr(>|t|)"]))
  })
}
anova_table <- function(a) {
  lapply(seq_len(nrow(a)), function(i) list(
    term = rownames(a)[i], sum_sq = a[i, "Sum Sq"], mean_sq = a[i, "Mean Sq"],
    num_df = a[i, "NumDF"], den_df = a[i, "DenDF"], F = a[i, "F value"], p = a[i, "Pr(>F)"]
  ))
}
matrix_json <- function(M) list(names = rownames(M), matrix = unname(as.matrix(M)))

vc <- as.data.frame(VarCorr(m))
vc_rows <- lapply(seq_len(nrow(vc)), function(i) list(
  group = vc$grp[i], var1 = if (is.na(vc$var1[i])) NULL else vc$var1[i],
  var2 = if (is.na(vc$var2[i])) NULL else vc$var2[i], variance = vc$vcov[i], sd = vc$sdcor[i]
))
L3 <- lmerTest:::get_contrasts_type3(m)
hyp <- lapply(L3, function(L) list(columns = colnames(L), L = unname(L)))
theta <- getME(m, "theta")
varpar_names <- c(names(theta), "sigma")
vcov_varpar <- m@vcov_varpar
dimnames(vcov_varpar) <- list(varpar_names, varpar_names)
jac <- setNames(lapply(m@Jac_list, function(J) {
  dimnames(J) <- dimnames(vcov(m))
  matrix_json(J)
}), varpar_names)
ngroups <- as.list(getME(m, "l_i"))
kr <- summary(m, ddf = "Kenward-Roger")$coefficients
out <- list(
  meta = list(
    r_version = R.version.string,
    packages = lapply(c(lme4 = "lme4", lmerTest = "lmerTest", pbkrtest = "pbkrtest",
                        Matrix = "Matrix", numDeriv = "numDeriv"),
                      function(p) as.character(packageVersion(p))),
    data = paste0(name, ".csv"), formula = formula_text, REML = TRUE,
    n_obs = nobs(m), n_rows_input = nrow(d), n_groups = ngroups,
    factors = c("subject", "condition", "phase", "period"),
    contrasts = list(condition = "contr.treatment", phase = "contr.treatment",
                     period = "contr.treatment"),
    warnings = list(), optimizer_messages = NULL
  ),
  fixed_effects_satterthwaite = fixed_table(summary(m)$coefficients, "se"),
  fixed_effects_kenward_roger = fixed_table(kr, "se_adj"),
  anova = list(
    typeIII_satterthwaite = anova_table(anova(m, type = 3)),
    typeIII_kenward_roger = anova_table(anova(m, type = 3, ddf = "Kenward-Roger"))
  ),
  type3_hypotheses = hyp,
  reml_loglik = as.numeric(logLik(m)), reml_criterion = as.numeric(REMLcrit(m)),
  df_loglik = attr(logLik(m), "df"),
  variance_components = vc_rows,
  theta = as.list(theta), sigma = sigma(m),
  vcov_beta = matrix_json(as.matrix(vcov(m))),
  lmertest_internals = list(
    varpar = as.list(setNames(c(theta, sigma(m)), varpar_names)),
    vcov_varpar = matrix_json(vcov_varpar),
    jacobian_vcov_beta = jac
  ),
  emmeans = NULL
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
           paste0(name, ".lmertest.json"))
