import unittest

from counting import count_to


class CountingTest(unittest.TestCase):
    def test_count_to_three(self):
        self.assertEqual(count_to(3), [1, 2, 3])

    def test_count_to_zero(self):
        self.assertEqual(count_to(0), [])


if __name__ == "__main__":
    unittest.main()
