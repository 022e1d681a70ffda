package sbfilter

// patternElem is one step of a LIKE pattern: a literal character, _ (any one character)
// or % (any run of characters).
type patternElem struct {
	r      rune
	anyOne bool
	anyRun bool
}

// compileLike reads pattern: % and _ are wildcards, and escape (if not -1) makes the
// character after it literal. An escape with nothing after it is an error.
func compileLike(pattern string, escape rune) ([]patternElem, error) {
	var elems []patternElem
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == escape:
			if i+1 == len(rs) {
				return nil, evalErrorf("the LIKE pattern %q ends with its escape character", pattern)
			}
			i++
			elems = append(elems, patternElem{r: rs[i]})
		case r == '%':
			if n := len(elems); n == 0 || !elems[n-1].anyRun {
				elems = append(elems, patternElem{anyRun: true})
			}
		case r == '_':
			elems = append(elems, patternElem{anyOne: true})
		default:
			elems = append(elems, patternElem{r: r})
		}
	}
	return elems, nil
}

// like reports whether s matches pattern, character by character and case-sensitively.
// It backtracks only to the last %, so it takes at most len(s)·len(pattern) steps.
func like(s, pattern string, escape rune) (bool, error) {
	elems, err := compileLike(pattern, escape)
	if err != nil {
		return false, err
	}
	rs := []rune(s)
	i, j := 0, 0
	star, starAt := -1, 0
	for i < len(rs) {
		switch {
		case j < len(elems) && elems[j].anyRun:
			star, starAt = j, i
			j++
		case j < len(elems) && (elems[j].anyOne || elems[j].r == rs[i]):
			i++
			j++
		case star >= 0:
			// Let the last % take one more character and retry after it.
			starAt++
			i, j = starAt, star+1
		default:
			return false, nil
		}
	}
	for j < len(elems) && elems[j].anyRun {
		j++
	}
	return j == len(elems), nil
}
