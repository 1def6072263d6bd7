// Go peer of Weft's benchmark suite: goroutines and channels.
//
//	skynet-go skynet|sleepers|race|saga [N]
//
// Run with GOMAXPROCS=1 (bench/run does). Prints one line of key=value pairs.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	fmt.Sscan(string(b), &size, &res)
	return res * int64(os.Getpagesize())
}

func maxrssKb() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}

// skynet, channel version (atemerev/skynet go/skynet.go)
func skynet(c chan int64, num int64, size int64, div int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64)
	var sum int64
	for i := int64(0); i < div; i++ {
		subNum := num + i*(size/div)
		go skynet(rc, subNum, size/div, div)
	}
	for i := int64(0); i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func work(i int64, c chan int64) { c <- i + 1 }

var errDeclined = errors.New("declined")

func step(i int64, c chan int64) { c <- i }

var comps int64

func undo(i int64, done chan struct{}) { comps++; done <- struct{}{} }

// saga: each step and each compensation runs as a goroutine the saga waits on
func saga(steps int64) error {
	stack := make([]int64, 0, steps)
	c := make(chan int64)
	for i := int64(0); i < steps; i++ {
		go step(i, c)
		r := <-c
		stack = append(stack, r)
	}
	done := make(chan struct{})
	for len(stack) > 0 {
		r := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		go undo(r, done)
		<-done
	}
	return errDeclined
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: skynet-go skynet|sleepers|race|saga [N]")
		os.Exit(2)
	}
	scen := os.Args[1]
	defaults := map[string]int64{"skynet": 1000000, "sleepers": 1000000, "race": 1000000, "saga": 10000}
	n, ok := defaults[scen]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown scenario", scen)
		os.Exit(2)
	}
	if v := os.Getenv("BENCH_N"); v != "" {
		n, _ = strconv.ParseInt(v, 10, 64)
	}
	if len(os.Args) > 2 {
		n, _ = strconv.ParseInt(os.Args[2], 10, 64)
	}
	bad := false
	switch scen {
	case "skynet":
		var wf int64
		for s := n; s >= 1; s /= 10 {
			wf += n / s
		}
		t0 := time.Now()
		c := make(chan int64)
		go skynet(c, 0, n, 10)
		r := <-c
		el := time.Since(t0).Nanoseconds()
		exp := n * (n - 1) / 2
		fmt.Printf("workflows=%d ns=%d result=%d expected=%d maxrss_kb=%d\n", wf, el, r, exp, maxrssKb())
		bad = r != exp
	case "sleepers":
		var parked int64
		started := make(chan struct{}, 1)
		done := make(chan struct{}, 1024)
		base := rss()
		t0 := time.Now()
		for i := int64(0); i < n; i++ {
			go func() {
				started <- struct{}{}
				time.Sleep(300 * time.Millisecond)
				done <- struct{}{}
			}()
			<-started // the goroutine runs to its sleep before the next starts
			parked++
		}
		t1 := time.Now()
		peak := rss()
		for i := int64(0); i < n; i++ {
			<-done
		}
		t2 := time.Now()
		fmt.Printf("workflows=%d parked=%d rss_base=%d rss_peak=%d bytes_each=%d ns=%d total_ns=%d maxrss_kb=%d result=%d expected=%d\n",
			n, parked, base, peak, (peak-base)/n, t1.Sub(t0).Nanoseconds(), t2.Sub(t0).Nanoseconds(), maxrssKb(), parked, n)
		bad = parked != n
	case "race":
		c := make(chan int64)
		raceLoop := func(n int64, withTimer bool) int64 {
			var s int64
			for i := int64(0); i < n; i++ {
				go work(i, c)
				if !withTimer {
					s += <-c
					continue
				}
				timer := time.NewTimer(time.Second)
				select {
				case v := <-c:
					s += v
				case <-timer.C:
					panic("timed out")
				}
				timer.Stop()
			}
			return s
		}
		w := n
		if w > 10000 {
			w = 10000
		}
		raceLoop(w, false) // warm up
		raceLoop(w, true)
		t0 := time.Now()
		a := raceLoop(n, false)
		t1 := time.Now()
		b := raceLoop(n, true)
		t2 := time.Now()
		plain, race := t1.Sub(t0).Nanoseconds(), t2.Sub(t1).Nanoseconds()
		fmt.Printf("ops=%d plain_ns=%d race_ns=%d ns=%d maxrss_kb=%d result=%d expected=%d\n", n, plain, race, race-plain, maxrssKb(), b, a)
		bad = a != b
	case "saga":
		failed := int64(0)
		t0 := time.Now()
		for k := int64(0); k < n; k++ {
			if errors.Is(saga(100), errDeclined) {
				failed++
			}
		}
		el := time.Since(t0).Nanoseconds()
		fmt.Printf("sagas=%d ops=%d ns=%d failed=%d maxrss_kb=%d result=%d expected=%d\n", n, comps, el, failed, maxrssKb(), comps, n*100)
		bad = comps != n*100 || failed != n
	}
	if bad {
		os.Exit(1)
	}
}
